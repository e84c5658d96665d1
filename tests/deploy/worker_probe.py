"""Run as a script in a fresh interpreter, with the deployment package as the current folder and as the only project
path (`python -P -s worker_probe.py`): does what the Azure Functions Python worker does with the package.

It imports function_app, finds exactly one FunctionApp and calls get_functions() once. Imports of top-level modules
that neither the standard library, the package itself nor the distributions requirements.txt installs (read from
stdin as a JSON list) fail as they would in Azure. Prints one JSON object: the functions' names and function.json
documents, the blocked imports, and any module loaded from the repository instead of the package.
"""
from __future__ import annotations

import importlib
import json
import os
import sys

PACKAGE_DIR = os.path.realpath(os.getcwd())
REPOSITORY = os.path.realpath(sys.argv[1])
ALLOWED = set(json.load(sys.stdin)) | set(sys.stdlib_module_names) | set(sys.builtin_module_names)
ALLOWED |= {os.path.splitext(name)[0] for name in os.listdir(PACKAGE_DIR)}
BLOCKED: list[str] = []


class OnlyRequirements:
    """A meta path finder in front of all others: unknown top-level modules are 'not installed'."""

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top not in ALLOWED:
            BLOCKED.append(name)
            raise ModuleNotFoundError(f"No module named {top!r} (not installed by requirements.txt)", name=top)
        return None


def main() -> None:
    sys.meta_path.insert(0, OnlyRequirements())
    import azure.functions as func

    module = importlib.import_module("function_app")
    apps = [value for value in vars(module).values() if isinstance(value, func.FunctionApp)]
    if len(apps) != 1:
        raise SystemExit(f"expected exactly one FunctionApp in function_app, found {len(apps)}")
    functions = apps[0].get_functions()
    environment = os.path.realpath(sys.prefix)
    leaked = sorted(
        name for name, loaded in list(sys.modules.items())
        if name != "__main__"  # this probe
        and (path := os.path.realpath(getattr(loaded, "__file__", None) or PACKAGE_DIR)).startswith(REPOSITORY + os.sep)
        and not path.startswith(environment + os.sep))
    print(json.dumps({
        "module_file": os.path.realpath(module.__file__),
        "functions": {function.get_function_name(): json.loads(function.get_function_json())
                      for function in functions},
        "blocked_imports": BLOCKED,
        "loaded_from_repository": leaked,
    }))


if __name__ == "__main__":
    main()

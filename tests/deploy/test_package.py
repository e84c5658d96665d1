"""The deployment package: what `func azure functionapp publish` uploads, and whether the Python worker can index
the app from that package alone, with only what requirements.txt installs."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.package import (FuncIgnore, build_package, read_funcignore, repository_files, requirement_modules,
                                  walk_files)

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("worker_probe.py")

MUST_SHIP = ["function_app.py", "host.json", "requirements.txt", "functions/", "shared/"]
MUST_NOT_SHIP = ["tests/", "devhost/", "storefront/", "commands/", "manage.py", "databricks_jobs/", "bench/", "docs/", ".venv/",
                 ".data/", ".github/", ".ci/", "local.settings.json", "local.settings.sample.json",
                 "requirements-dev.txt", "requirements-local.txt", "Makefile", "pytest.ini", "reports/"]


def _under(files: list[str], entry: str) -> list[str]:
    return [path for path in files if path == entry or (entry.endswith("/") and path.startswith(entry))]


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> tuple[Path, list[str]]:
    destination = tmp_path_factory.mktemp("package")
    return destination, build_package(ROOT, destination)


@pytest.fixture(scope="module")
def indexed(package) -> dict:
    """One fresh interpreter per module: the package is its cwd and only project path; get_functions() once."""
    destination, _ = package
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(destination), "LANG": "C.UTF-8",
           "PYTHONPATH": str(destination), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"}
    allowed = json.dumps(requirement_modules(ROOT / "requirements.txt"))
    result = subprocess.run([sys.executable, "-P", "-s", str(PROBE), str(ROOT)], input=allowed, cwd=destination,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"indexing the deployed package failed:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_package_holds_the_app_and_nothing_for_development(package):
    _, files = package
    for entry in MUST_SHIP:
        assert _under(files, entry), f"{entry} is missing from the deployment package"
    for entry in MUST_NOT_SHIP:
        assert not _under(files, entry), f"{entry} would be deployed: {_under(files, entry)[:5]}"
    assert not [path for path in files if path.endswith((".pyc", ".sqlite3")) or "/node_modules/" in f"/{path}"]


def test_worker_indexes_the_package_alone(package, indexed):
    destination, _ = package
    assert indexed["module_file"] == str((destination / "function_app.py").resolve())
    assert indexed["loaded_from_repository"] == [], "modules were imported from the repository, not the package"
    assert indexed["functions"], "the worker would report 0 functions found"
    for name, document in indexed["functions"].items():
        assert document["scriptFile"] == "function_app.py" and document["bindings"], name


def test_trigger_settings_are_documented_in_the_sample(indexed):
    """`%NAME%` in binding properties and `connection` names are app settings the host resolves; an undocumented
    one is a trigger that fails in Azure (identity-based connections use NAME__accountEndpoint etc.)."""
    with open(ROOT / "local.settings.sample.json", encoding="utf-8") as handle:
        documented = set(json.load(handle)["Values"])
    referenced, connections = set(), set()
    for document in indexed["functions"].values():
        for binding in document["bindings"]:
            for key, value in binding.items():
                if isinstance(value, str):
                    referenced |= set(re.findall(r"%([^%\s]+)%", value))
                if key.lower() == "connection" and value:
                    connections.add(value)
    assert not sorted(name for name in referenced if name not in documented)
    missing = [name for name in connections
               if name not in documented and not any(key.startswith(name + "__") for key in documented)]
    assert not missing, f"connection settings not in local.settings.sample.json: {missing}"


def test_local_state_in_the_working_tree_would_not_be_deployed():
    """A developer's `func azure functionapp publish` packages the folder as it is on disk: nothing git ignores
    (virtualenv, local settings, SQLite files, caches, Spark output) may get past .funcignore."""
    if repository_files(ROOT) is None:
        pytest.skip("needs git")
    files = walk_files(ROOT, read_funcignore(ROOT))
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "--stdin", "-z"], cwd=ROOT,
                             input="\0".join(files).encode(), capture_output=True, timeout=60)
    assert ignored.returncode in (0, 1), ignored.stderr.decode()
    assert [path for path in ignored.stdout.decode().split("\0") if path] == []


def test_funcignore_matches_like_core_tools():
    """Prefix matching anchored at the project folder, as Core Tools' GitIgnoreParser does it."""
    rules = FuncIgnore("# comment\ntests/\n/manage.py\n*.pyc\n**/__pycache__/\nbuild*/\n!keep.pyc\n")
    assert not rules.accepts("tests/unit/test_x.py") and rules.accepts("shared/tests/x.py")
    assert not rules.accepts("manage.py") and rules.accepts("functions/manage.py")
    assert not rules.accepts("top.pyc") and rules.accepts("shared/nested.pyc")  # `*` stays within one segment
    assert not rules.accepts("shared/__pycache__/x.cpython-311.pyc") and rules.accepts("__pycache__x")
    assert not rules.accepts("build-1/x") and rules.accepts("keep.pyc")
    assert rules.accepts("function_app.py") and not rules.denies_whole_folder("shared")


#!/usr/bin/env python
"""The command line: serve, import-orders, train, evaluate. `python manage.py COMMAND --help` for each."""
from __future__ import annotations

import argparse
import importlib
import sys

from devhost.local_settings import load_local_settings
from shared.domain.errors import ConfigurationError, DomainError

COMMANDS = {
    "serve": ("commands.serve", "run the local functions host"),
    "import-orders": ("commands.import_orders", "import orders from a CSV (Online Retail) or JSON lines file"),
    "train": ("commands.train", "train a model with the configured trainer and activate it"),
    "evaluate": ("commands.evaluate", "measure recommendation quality on an orders file"),
    "tune": ("commands.tune", "search training parameters on an orders file"),
    "screenshots": ("commands.screenshots", "write screenshots of the storefront and dashboard to docs/images"),
}


def main(argv: list[str] | None = None) -> int:
    load_local_settings()
    parser = argparse.ArgumentParser(prog="manage.py", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    try:
        return modules[args.command].run(args)
    except ConfigurationError as error:
        print(f"configuration error: {error.message}", file=sys.stderr)
        return 2
    except DomainError as error:   # e.g. nothing to train on: one line, not a traceback
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

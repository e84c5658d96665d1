"""House rules 1 and 8: the domain imports no SDK; shared never imports functions or devhost."""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FORBIDDEN_IN_DOMAIN = ("azure", "databricks", "sqlite3", "pyspark", "implicit", "aiohttp", "shared.adapters",
                       "shared.services", "shared.bootstrap", "functions", "devhost")
FORBIDDEN_IN_SHARED = ("functions", "devhost", "commands")


def imports_of(folder):
    for directory, _, files in os.walk(os.path.join(ROOT, folder)):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                tree = ast.parse(open(path, encoding="utf-8").read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        for alias in node.names:
                            yield path, alias.name
                    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                        yield path, node.module


def offenders(folder, forbidden):
    return [(path, module) for path, module in imports_of(folder)
            if any(module == bad or module.startswith(bad + ".") for bad in forbidden)]


def test_domain_imports_no_sdk():
    found = list(imports_of("shared/domain"))
    assert found, "the walk found no imports at all"
    assert offenders("shared/domain", FORBIDDEN_IN_DOMAIN) == []


def test_shared_never_imports_the_outer_layers():
    assert offenders("shared", FORBIDDEN_IN_SHARED) == []


def test_vendor_sdks_only_inside_adapters():
    for folder in ("shared/services", "shared/domain", "functions"):
        assert offenders(folder, ("azure.cosmos", "azure.identity", "databricks", "sqlite3", "implicit")) == []

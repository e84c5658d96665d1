"""host.json: the settings the deployed host depends on."""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_host_json_version_bundle_and_route_prefix():
    with open(ROOT / "host.json", encoding="utf-8") as handle:
        host = json.load(handle)
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    assert host["extensions"]["http"]["routePrefix"] == "api"

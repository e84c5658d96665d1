"""Every fenced `sh` block of README.md and docs/*.md, run the way it is written.

Each block is listed in BLOCKS by its file and first line, either to run (with the substitutions named there:
the test's interpreter for `.venv/bin/python`, small data for the big evaluation file, the test host's port and
keys, ids that exist in place of the docs' placeholders) or as excluded with the reason. A block that is in the
docs but not listed, or listed but gone from the docs, fails the test: new commands get checked or justified."""
from __future__ import annotations

import csv
import glob
import os
import random
import re
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from tests.integration.localhost import ADMIN_KEY, ROOT, LocalHostProcess, wait_for

FENCE = re.compile(r"^(?P<indent> *)```sh\n(?P<body>.*?)^(?P=indent)```", re.S | re.M)
SAMPLE = os.path.join(ROOT, "tests", "data", "online_retail_sample.csv")
EXCLUDED = "excluded"
# (file, first line) -> "import" | "host" | "admin" | "by-hand" | (EXCLUDED, why)
BLOCKS = {
    ("README.md", "make run    # creates .venv, installs, starts the local host on http://127.0.0.1:7071 with "
                  "demo data and a first model"):
        (EXCLUDED, "`make run` builds a second virtualenv and serves until stopped; it runs `manage.py serve --demo`, "
                   "which the README's curl block below is run against; `make test` is this suite itself"),
    ("README.md", "TOKEN=$(curl -s -H \"Accept: text/plain\" -d '{\"userId\": \"new-shopper\"}' "
                  "http://127.0.0.1:7071/.devhost/token)"): "host",
    ("README.md", ".venv/bin/python manage.py import-orders ../shared/data/online_retail.csv.gz   "
                  "# UCI Online Retail (I or II), or JSON lines"): "import",
    ("docs/operations.md", "BASE=http://127.0.0.1:7071          # or https://$APP.azurewebsites.net"): "admin",
    ("docs/operations.md", "BASE=http://127.0.0.1:7071   # the host whose shopper data you export or delete "
                           "(or https://$APP.azurewebsites.net)"): "users",
    ("docs/operations.md", "SQLITE_PATH=.data/store.sqlite3 .venv/bin/python - <<'EOF'"): "by-hand",
}
AZURE = (EXCLUDED, "needs an Azure subscription, the az / databricks / gh CLIs and deployed resources; the parts "
                   "that run here (bundle, package, workflows) are checked by tests/deploy and tests/jobs")
DEPLOY_FIRST_LINES = ["cd databricks_jobs", "RG=rg-personalization",
                      "az functionapp scale config set --name \"$APP\" --resource-group \"$RG\" \\",
                      "curl -H \"x-functions-key: $ADMIN_KEY\" https://$APP.azurewebsites.net/api/manage/models/"
                      "active      # active + previous",
                      "STORE_BACKEND=cosmos COSMOS_ENDPOINT=\"$COSMOS_ENDPOINT\" .venv/bin/python -c \""]
BLOCKS.update({("docs/deploy.md", line): AZURE for line in DEPLOY_FIRST_LINES})
# Inside a block that runs: lines left out, with the reason.
LEFT_OUT = {"make bench": "benchmarks run for minutes on every core (`python -m bench`, checked by tests/bench)"}


def documented_blocks() -> dict[tuple[str, str], str]:
    blocks = {}
    for path in [os.path.join(ROOT, "README.md"), *sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))]:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        for match in FENCE.finditer(text):
            indent = len(match["indent"])
            body = "".join(line[indent:] if line[:indent].isspace() else line
                           for line in match["body"].splitlines(keepends=True))
            blocks[(os.path.relpath(path, ROOT), body.splitlines()[0])] = body
    return blocks


def test_every_documented_block_is_run_or_excluded_with_a_reason():
    found, listed = set(documented_blocks()), set(BLOCKS)
    assert found - listed == set(), "shell blocks in the docs that this test neither runs nor excludes"
    assert listed - found == set(), "listed blocks no longer in the docs (update BLOCKS)"
    assert all(kind[1] for kind in BLOCKS.values() if isinstance(kind, tuple))


def run_block(body: str, cwd: str, env: dict, substitutions: dict[str, str]) -> str:
    for old, new in substitutions.items():
        assert old in body, f"substitution {old!r} no longer matches the block"
        body = body.replace(old, new)
    lines = [line for line in body.splitlines() if line.split("#")[0].strip() not in LEFT_OUT]
    # -f: an HTTP error status fails the command; -e: any failing command fails the block.
    script = "set -euo pipefail\ncurl() { command curl -fsS --max-time 60 \"$@\"; echo; }\n" + "\n".join(lines)
    result = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"block failed ({result.returncode}):\n{script}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def block(kind: str) -> str:
    [body] = [body for key, body in documented_blocks().items() if BLOCKS[key] == kind]
    return body


def write_small_retail_csv(path, customers: int = 60, seed: int = 3) -> None:
    """Online Retail layout, a few months of orders by customers with favourite products: enough for the
    evaluation's 30-day test window to have test users (the big file is outside the repository)."""
    rng = random.Random(seed)
    products = [f"{20000 + n}" for n in range(40)]
    start = datetime(2011, 6, 1, 9, 0)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                      "CustomerID", "Country"])
        invoice = 540000
        for customer in range(customers):
            favourites = rng.sample(products, 8)
            for _ in range(rng.randint(3, 7)):
                invoice += 1
                when = start + timedelta(days=rng.uniform(0, 120))
                for code in rng.sample(favourites, rng.randint(1, 4)):
                    out.writerow([invoice, code, f"ITEM {code}", rng.randint(1, 12), when.strftime("%Y-%m-%d %H:%M"),
                                  "1.25", 13000 + customer, "United Kingdom"])


def test_readme_data_commands(tmp_path):
    small = tmp_path / "small_retail.csv"
    write_small_retail_csv(small)
    env = dict(os.environ, SQLITE_PATH=str(tmp_path / "store.sqlite3"))
    body = block("import")
    first, rest = body.split("\n", 1)
    # import-orders and train on the sample of both layouts' quirks; evaluate and tune need a test window.
    out = run_block(first, ROOT, env, {".venv/bin/python": sys.executable,
                                       "../shared/data/online_retail.csv.gz": SAMPLE})
    assert "5 accepted into 4 new orders" in out
    out = run_block(rest, ROOT, env, {".venv/bin/python": sys.executable,
                                      "../shared/data/online_retail.csv.gz": str(small),
                                      "--report reports/": f"--report {tmp_path / 'reports'}"})
    assert "is active: 3 users" in out and "test users" in out and os.listdir(tmp_path / "reports")


@pytest.fixture(scope="module")
def demo_host(tmp_path_factory):
    folder = tmp_path_factory.mktemp("documented")
    # As `make run` does: shoppers sign in with the local host's development identity provider.
    host = LocalHostProcess(str(folder / "store.sqlite3"), {"RECONCILE_SCHEDULE": "* * * * * *",
                                                            "SHOPPER_AUTH": "jwt", "SHOPPER_JWKS_URL": ""},
                            args=("--demo",)).start(timeout=180)
    yield host
    host.stop()


def test_readme_curl_block_against_the_demo_host(demo_host):
    env = dict(os.environ)
    out = run_block(block("host"), ROOT, env, {"127.0.0.1:7071": f"127.0.0.1:{demo_host.port}"})
    assert '"strategy":"personalized"' in out.replace(" ", "")


def test_operations_admin_and_by_hand_blocks(demo_host):
    status, existing, _ = demo_host.request("POST", "/api/manage/training-runs", {}, key=ADMIN_KEY)
    assert status == 202
    wait_for(lambda: demo_host.request("GET", f"/api/manage/training-runs/{existing['id']}",
                                       key=ADMIN_KEY)[1]["state"] == "activated", 120, "retrain", demo_host)
    pointer = demo_host.request("GET", "/api/manage/models/active", key=ADMIN_KEY)[1]
    env = dict(os.environ)
    run_block(block("admin"), ROOT, env, {
        "KEY=...": f"KEY={ADMIN_KEY}", "127.0.0.1:7071": f"127.0.0.1:{demo_host.port}",
        "train-0123abcd...": existing["id"], "20240601T120000Z-0a1b2c3d": pointer["previousVersion"]})
    out = run_block(block("users"), ROOT, env, {"KEY=...": f"KEY={ADMIN_KEY}",
                                                 "127.0.0.1:7071": f"127.0.0.1:{demo_host.port}"})
    assert '"deleted"' in out
    # The by-hand block fails a request through the repository's code, against the host's own store: the
    # one the admin block's POST just recorded.
    newest = demo_host.request("GET", "/api/manage/training-runs?limit=1", key=ADMIN_KEY)[1]["items"][0]
    assert newest["id"] != existing["id"]
    out = run_block(block("by-hand"), ROOT, env, {".data/store.sqlite3": demo_host.env["SQLITE_PATH"],
                                                  ".venv/bin/python": sys.executable,
                                                  "train-0123abcd...": newest["id"]})
    assert out.strip().splitlines()[-1] == "failed"

"""The command line: import-orders (both Online Retail layouts, gzip, JSON lines) and train, with --json."""
import gzip
import json
import os
import shutil
import subprocess
import sys

from tests.integration.localhost import ROOT

DATA = os.path.join(ROOT, "tests", "data")


def manage(tmp_path, *args):
    env = dict(os.environ, SQLITE_PATH=str(tmp_path / "store.sqlite3"))
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def test_import_online_retail_counts_every_row(tmp_path):
    summary = json.loads(manage(tmp_path, "import-orders", os.path.join(DATA, "online_retail_sample.csv"),
                                "--json", "--no-progress")[-1])
    assert summary["lines"] == 12
    assert summary["rejected"] == {"cancellation": 1, "no_customer": 1, "not_a_product": 1,
                                   "non_positive_quantity": 1, "malformed_number": 1, "malformed_date": 1,
                                   "quantity_too_large": 1}
    assert summary["accepted"] == 5 and summary["orders"] == 4
    again = json.loads(manage(tmp_path, "import-orders", os.path.join(DATA, "online_retail_sample.csv"),
                              "--json", "--no-progress")[-1])
    assert again["orders"] == 0 and again["accepted"] == 5   # re-import stores nothing twice


def test_import_online_retail_ii_gzipped_and_user_ids_as_written(tmp_path):
    packed = tmp_path / "ii.csv.gz"
    with open(os.path.join(DATA, "online_retail_ii_sample.csv"), "rb") as source, gzip.open(packed, "wb") as target:
        shutil.copyfileobj(source, target)
    summary = json.loads(manage(tmp_path, "import-orders", str(packed), "--json", "--no-progress")[-1])
    assert summary == {"lines": 4, "accepted": 3, "rejected": {"cancellation": 1}, "orders": 2}
    from shared.adapters.sqlite_store import SqliteStore
    store = SqliteStore(str(tmp_path / "store.sqlite3"))
    order = store.read("orders", "489434", "13085")
    assert [line["productId"] for line in order["items"]] == ["85048", "79323P"]
    assert store.read("products", "22350", "22350")["title"] == "CAT BOWL"
    store.close()


def test_import_json_lines_validates_like_the_api(tmp_path):
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join([
        json.dumps({"orderId": "a", "userId": "u1", "items": [{"productId": "p1", "quantity": 2}]}),
        json.dumps({"orderId": "b", "userId": "u1", "items": []}),
        "{broken",
        json.dumps({"orderId": "c", "userId": "u2", "items": [{"productId": "p2", "quantity": 1}],
                    "createdAt": "2024-01-01T00:00:00Z"}),
    ]))
    summary = json.loads(manage(tmp_path, "import-orders", str(path), "--json", "--no-progress")[-1])
    assert summary["orders"] == 2 and summary["rejected"] == {"invalid_order": 1, "malformed_json": 1}


def test_train_prints_the_model_as_json(tmp_path):
    manage(tmp_path, "import-orders", os.path.join(DATA, "online_retail_sample.csv"), "--no-progress")
    result = json.loads(manage(tmp_path, "train", "--json")[-1])
    assert set(result) == {"modelVersion", "users", "products", "interactions", "seconds"}
    assert result["users"] == 3 and result["products"] == 5 and result["interactions"] == 5


def test_train_with_databricks_submits_one_run_through_the_jobs_api(tmp_path):
    from tests.fakes.databricks_jobs_api import FakeJobsApi

    manage(tmp_path, "import-orders", os.path.join(DATA, "online_retail_sample.csv"), "--no-progress")
    with FakeJobsApi(job_ids=[77]) as api:
        env = dict(os.environ, SQLITE_PATH=str(tmp_path / "store.sqlite3"), TRAINER_BACKEND="databricks",
                   DATABRICKS_HOST=api.url, DATABRICKS_TOKEN=api.token, DATABRICKS_TRAIN_JOB_ID="77")
        result = subprocess.run([sys.executable, "manage.py", "train", "--json"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["state"] == "submitted" and summary["runId"]
        assert api.runs_started == 1
        assert api.calls("run-now")[0].idempotency_token == summary["requestId"]

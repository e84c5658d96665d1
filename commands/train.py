"""`manage.py train`: train with the configured trainer and activate the new model."""
from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import datetime, timezone

from shared import bootstrap
from shared.adapters.local_trainer import train_model
from shared.domain.training import model_version_for, request_id
from shared.domain.training_params import TrainingParams
from shared.domain.validation import format_timestamp


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    parser.add_argument("--wait", action="store_true",
                        help="with TRAINER_BACKEND=databricks: follow the run until its model is active or it failed")


def new_version() -> str:
    return model_version_for(request_id(f"manual:{uuid.uuid4()}"), format_timestamp(datetime.now(timezone.utc)))


def train_now(params: TrainingParams | None = None) -> dict:
    """Train in this process with the local trainer and activate the result; returns the manifest."""
    settings = bootstrap.settings()
    version = new_version()
    manifest = train_model(bootstrap.store(), version, params or TrainingParams(), settings.training_threads)
    bootstrap.model_registry().activate(version)
    return manifest


def run(args) -> int:
    settings = bootstrap.settings()
    if settings.trainer_backend != "local":
        return submit_remote(args)
    started = time.perf_counter()
    manifest = train_now()
    seconds = time.perf_counter() - started
    counts = manifest["counts"]
    print(f"Model {manifest['modelVersion']} is active: {counts['users']} users, {counts['products']} products, "
          f"{counts['interactions']} interactions from {counts['orders']} orders in {seconds:.1f} s "
          f"(fit {manifest['timings']['fit']:.1f} s)")
    if args.json:
        print(json.dumps({"modelVersion": manifest["modelVersion"], "users": counts["users"],
                          "products": counts["products"], "interactions": counts["interactions"],
                          "seconds": round(seconds, 3)}))
    return 0


def train_if_no_model(out=sys.stdout) -> None:
    """For `serve --demo`: a new user gets personalized recommendations right away."""
    if bootstrap.model_registry().active_version() is None:
        manifest = train_now()
        print(f"Trained a first model {manifest['modelVersion']} ({manifest['counts']['users']} users, "
              f"{manifest['counts']['products']} products)", file=out, flush=True)


def submit_remote(args, poll_seconds: float = 15.0) -> int:
    """Record and submit a training request, as POST /api/manage/training-runs does; optionally follow it."""
    service = bootstrap.training_service()
    doc = service.manual()
    print(f"Training request {doc['id']} for model {doc['modelVersion']}: {doc['state']} (run {doc['runId']})",
          flush=True)
    while args.wait and doc["state"] not in ("activated", "failed"):
        time.sleep(poll_seconds)
        service.reconcile()
        doc = service.requests.get(doc["id"])
        print(f"  {doc['state']}", flush=True)
    if args.json:
        print(json.dumps({"requestId": doc["id"], "modelVersion": doc["modelVersion"], "state": doc["state"],
                          "runId": doc["runId"], "error": doc.get("error")}))
    return 1 if doc["state"] == "failed" else 0

"""Training request documents in the `trainingRuns` container and their state machine:

    pending --submit--> submitted --run starts--> running --run ends--> succeeded --manifest--> activated
       |  (trainer down: stays pending, retried with backoff)                  \\--no manifest in time--> failed
       \\--permanent error--> failed              (run failed) --> failed

Every change is an etag-guarded replace, so two instances cannot both move one request."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.domain.ports import ETAG, TRAINING_RUNS, DocumentStore, Filter, Query
from shared.domain.training_params import TrainingParams
from shared.domain.validation import check_id, format_timestamp

ACTIVE_STATES = ("pending", "submitted", "running", "succeeded")
STATES = ACTIVE_STATES + ("activated", "failed")


def now_iso(seconds: float) -> str:
    return format_timestamp(datetime.fromtimestamp(seconds, timezone.utc))


def new_request_doc(identifier: str, version: str, reason: str, window: str, params: TrainingParams,
                    created: str) -> dict:
    return {"id": identifier, "type": "trainingRequest", "state": "pending", "reason": reason, "window": window,
            "modelVersion": version, "params": params.to_json(), "createdAt": created, "updatedAt": created,
            "attempts": 0, "nextAttemptAt": created, "runId": None, "trainer": None, "error": None,
            "lastError": None}


def public_request(doc: dict) -> dict:
    return {key: value for key, value in doc.items() if not key.startswith("_") and key != "type"}


class TrainingRequests:
    def __init__(self, store: DocumentStore):
        self._store = store

    def get(self, identifier: str) -> dict:
        check_id(identifier, "runId")
        return self._store.read(TRAINING_RUNS, identifier, identifier)

    def recent(self, limit: int = 20) -> list[dict]:
        query = Query(filters=(Filter("type", "=", "trainingRequest"),), order_by="createdAt", descending=True,
                      limit=limit)
        return self._store.query(TRAINING_RUNS, query).items

    def update(self, doc: dict, **changes) -> dict:
        """Replace with changes applied, only if nobody changed the document since `doc` was read."""
        updated = {key: value for key, value in doc.items() if not key.startswith("_")}
        updated.update(changes)
        updated["updatedAt"] = format_timestamp(datetime.now(timezone.utc))
        return self._store.replace(TRAINING_RUNS, updated, if_match=doc[ETAG]).document

"""Training request documents in the `trainingRuns` container and their state machine:

    pending --submit--> submitted --run starts--> running --run ends--> succeeded --manifest--> activated
       |  (trainer down: stays pending, retried with backoff)                  \\--no manifest in time--> failed
       \\--permanent error--> failed              (run failed) --> failed

Every change is an etag-guarded replace, so two instances cannot both move one request.

The paths that run all the time (change feed batches, the reconcile timer) find requests through one small
ledger document (the newest LEDGER_SIZE requests and the ids not yet finished) and point reads, never with a
query across partitions; only the operator's listing queries."""
from __future__ import annotations

from datetime import datetime, timezone

from shared import telemetry
from shared.domain import errors
from shared.domain.ports import ETAG, TRAINING_RUNS, DocumentStore, Filter, Query
from shared.domain.training_params import TrainingParams
from shared.domain.validation import check_id, format_timestamp

ACTIVE_STATES = ("pending", "submitted", "running", "succeeded")
STATES = ACTIVE_STATES + ("activated", "failed")
LEDGER_ID = "requests-ledger"
LEDGER_SIZE = 50
_RETRIES = 5


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
        doc = self._store.read(TRAINING_RUNS, identifier, identifier)
        if doc.get("type") != "trainingRequest":   # the container also holds the ledger, the order counter, ...
            raise errors.NotFoundError(f"training run {identifier!r} not found")
        return doc

    def recent(self, limit: int = 20) -> list[dict]:
        """Newest first, for the operator's listing: a query across partitions, kept off the timer paths."""
        query = Query(filters=(Filter("type", "=", "trainingRequest"),), order_by="createdAt", descending=True,
                      limit=limit)
        return self._store.query(TRAINING_RUNS, query).items

    def update(self, doc: dict, **changes) -> dict:
        """Replace with changes applied, only if nobody changed the document since `doc` was read."""
        updated = {key: value for key, value in doc.items() if not key.startswith("_")}
        updated.update(changes)
        updated["updatedAt"] = format_timestamp(datetime.now(timezone.utc))
        written = self._store.replace(TRAINING_RUNS, updated, if_match=doc[ETAG]).document
        telemetry.training_run_state(doc.get("state"), written["state"])
        return written

    # -- the ledger ----------------------------------------------------------------------------------------
    def ledger(self) -> dict:
        """{"requests": [{"id", "createdAt", "window"}, ...newest first], "open": [ids not known finished]}."""
        try:
            return self._store.read(TRAINING_RUNS, LEDGER_ID, LEDGER_ID)
        except errors.NotFoundError:
            return {"id": LEDGER_ID, "requests": [], "open": []}

    def remember(self, doc: dict) -> None:
        """Enter a request in the ledger (idempotent): called after its document was created, and again
        whenever that creation is found to have happened already, so a crash in between heals itself."""
        entry = {"id": doc["id"], "createdAt": doc["createdAt"], "window": doc.get("window")}

        def change(ledger: dict) -> dict | None:
            if any(item["id"] == doc["id"] for item in ledger["requests"]):
                return None
            requests = sorted([entry, *ledger["requests"]], key=lambda item: item["createdAt"], reverse=True)
            still_open = [doc["id"]] + [item for item in ledger["open"] if item != doc["id"]]
            return {"requests": requests[:LEDGER_SIZE], "open": still_open}
        self._change_ledger(change)

    def open_requests(self) -> list[dict]:
        """The requests not finished yet, newest first, by point reads; forgets the ones that finished."""
        ledger = self.ledger()
        found, finished = [], set()
        for identifier in ledger["open"]:
            try:
                doc = self.get(identifier)
            except errors.NotFoundError:
                finished.add(identifier)
                continue
            (found if doc["state"] in ACTIVE_STATES else []).append(doc)
            if doc["state"] not in ACTIVE_STATES:
                finished.add(identifier)
        if finished:
            self._change_ledger(lambda current: {
                "requests": current["requests"], "open": [item for item in current["open"] if item not in finished]}
                if finished & set(current["open"]) else None)
        return sorted(found, key=lambda doc: doc["createdAt"], reverse=True)

    def _change_ledger(self, change) -> None:
        for _ in range(_RETRIES):
            current = self.ledger()
            changed = change(current)
            if changed is None:
                return
            body = {"id": LEDGER_ID, "type": "requestLedger", **changed}
            try:
                if ETAG in current:
                    self._store.replace(TRAINING_RUNS, body, if_match=current[ETAG])
                else:
                    self._store.create(TRAINING_RUNS, body)
                return
            except (errors.ConflictError, errors.PreconditionFailedError):
                continue  # another instance changed the ledger: apply the change to its version
        raise errors.UnavailableError("the training request ledger stayed contended; try again")

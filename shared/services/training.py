"""Training requests: recorded as documents (an outbox) before they are submitted, with deterministic ids
that double as the trainer's idempotency token; the change feed handler and the reconcile timer both drive
them forward, and nothing is lost when a trainer is down: what cannot be done now stays recorded."""
from __future__ import annotations

import logging
import time

from shared import telemetry
from shared.domain import errors
from shared.domain.interactions import to_epoch_seconds
from shared.domain.ports import TRAINING_RUNS, DocumentStore
from shared.domain.retrain_policy import RetrainFacts, RetrainPolicy, backoff_seconds, decide
from shared.domain.training import Trainer, TrainingRequest, model_version_for, request_id
from shared.domain.training_params import TrainingParams
from shared.services.models import ModelRegistry
from shared.services.new_orders import NewOrderCounter
from shared.services.training_requests import TrainingRequests, new_request_doc, now_iso

log = logging.getLogger("training")


class TrainingService:
    def __init__(self, store: DocumentStore, trainer: Trainer, registry: ModelRegistry, policy: RetrainPolicy,
                 params: TrainingParams | None = None, clock=time.time, manifest_grace_seconds: float = 900,
                 submit_at_once: bool = True):
        self._store = store
        self._submit_at_once = submit_at_once   # False: only record; the reconcile timer submits
        self._trainer = trainer
        self._registry = registry
        self._policy = policy
        self._params = params or TrainingParams()
        self._clock = clock
        self._grace = manifest_grace_seconds
        self.requests = TrainingRequests(store)
        self.new_orders = NewOrderCounter(store, policy.min_new_orders)

    # -- deciding ---------------------------------------------------------------------------------------
    def on_orders(self, orders: list[dict]) -> dict | None:
        """Called for every change feed batch with its orders. Idempotent: an order is counted once however
        often it is delivered, so a batch delivered twice decides the same way and lands on the same request
        id. Costs the same whatever the number of orders stored: a few point reads and one counter write."""
        manifest = self._active_manifest()
        counted = self.new_orders.add(orders, _cutoff(manifest))
        return self.maybe_request(manifest, counted)

    def maybe_request(self, manifest: dict | None | bool = False, new_orders: int | None = None) -> dict | None:
        """`new_orders`: the count the caller just wrote (saves reading the counter back)."""
        if manifest is False:
            manifest = self._active_manifest()
        cutoff = _cutoff(manifest)
        ledger = self.requests.ledger()
        facts = RetrainFacts(
            now=self._clock(),
            new_orders=self.new_orders.count(cutoff) if new_orders is None else new_orders,
            last_started_at=_seconds(ledger["requests"][0]["createdAt"]) if ledger["requests"] else None,
            model_created_at=_seconds(manifest["createdAt"]) if manifest else None,
            in_flight=bool(self.requests.open_requests()))
        reason = decide(self._policy, facts)
        if reason is None:
            return None
        # Every earlier request of this window (failed, or activated and then rolled back) moves the key on;
        # counting only failed ones would land a rolled-back window on its old, finished request forever.
        attempt = sum(1 for entry in ledger["requests"] if entry.get("window") == cutoff)
        return self.record(reason, window=cutoff, key=f"{reason}:{cutoff}:{attempt}")

    def record(self, reason: str, window: str, key: str, params: TrainingParams | None = None) -> dict:
        """Create the request document (or find the one a concurrent or repeated call created), then try to
        submit it once; failures to submit are left for the reconcile timer."""
        identifier = request_id(key)
        created = now_iso(self._clock())
        doc = new_request_doc(identifier, model_version_for(identifier, created), reason, window,
                              params or self._params, created)
        try:
            self._store.create(TRAINING_RUNS, doc)
            telemetry.training_run_state(None, doc["state"])
        except errors.ConflictError:
            existing = self.requests.get(identifier)
            self.requests.remember(existing)   # in case the call that created it stopped before this
            return existing
        self.requests.remember(doc)
        if not self._submit_at_once:
            return self.requests.get(identifier)
        try:
            return self.submit(self.requests.get(identifier))
        except errors.PreconditionFailedError:  # the timer submitted it at the same time (same token, same run)
            return self.requests.get(identifier)

    def manual(self, params: TrainingParams | None = None, key: str | None = None) -> dict:
        if key is not None:  # a retried POST with the same Idempotency-Key gets the request it made
            try:
                return self.requests.get(request_id(f"manual:{key}"))
            except errors.NotFoundError:
                pass
        if self.requests.open_requests():
            raise errors.ConflictError("a training run is already in flight; wait for it or see "
                                       "GET /api/manage/training-runs")
        return self.record("manual", _cutoff(self._active_manifest()), f"manual:{key or now_iso(self._clock())}",
                           params)

    # -- driving requests forward -----------------------------------------------------------------------
    def submit(self, doc: dict) -> dict:
        request = TrainingRequest(doc["id"], doc["modelVersion"], TrainingParams.from_json(doc["params"]))
        try:
            run_id = self._trainer.submit(request)
        except errors.UnavailableError as error:
            attempts = doc.get("attempts", 0) + 1
            wait = max(backoff_seconds(attempts), error.retry_after or 0)
            return self.requests.update(doc, attempts=attempts, nextAttemptAt=now_iso(self._clock() + wait),
                                        lastError=error.message)
        except errors.PermanentFailureError as error:
            return self.requests.update(doc, state="failed", error=error.message, finishedAt=now_iso(self._clock()))
        return self.requests.update(doc, state="submitted", runId=run_id, trainer=self._trainer.name,
                                    submittedAt=now_iso(self._clock()), lastError=None)

    def reconcile(self) -> dict[str, int]:
        """One pass of the timer: submit what is due, poll what runs, activate what finished; never waits."""
        done = {"submitted": 0, "polled": 0, "activated": 0, "failed": 0}
        for doc in self.requests.open_requests():
            try:
                state = doc["state"]
                if state == "pending" and _seconds(doc.get("nextAttemptAt") or doc["createdAt"]) <= self._clock():
                    done["submitted"] += self.submit(doc)["state"] == "submitted"
                elif state in ("submitted", "running", "succeeded"):
                    done["polled"] += 1
                    outcome = self._follow(doc)["state"]
                    done["activated"] += outcome == "activated"
                    done["failed"] += outcome == "failed"
            except errors.PreconditionFailedError:
                continue  # another instance moved this request on at the same time
            except errors.UnavailableError as error:
                log.warning("reconcile: %s stays %s: %s", doc["id"], doc["state"], error.message)
        self.maybe_request()
        return done

    def _follow(self, doc: dict) -> dict:
        now = self._clock()
        try:
            status = self._trainer.status(doc["runId"])
        except errors.PermanentFailureError as error:  # e.g. the run was deleted: asking again will not help
            return self.requests.update(doc, state="failed", error=error.message, finishedAt=now_iso(now))
        if status.state == "failed":
            return self.requests.update(doc, state="failed", error=status.message, finishedAt=now_iso(now))
        if status.state != "succeeded":
            return self.requests.update(doc, state="running") if status.state == "running" and \
                doc["state"] != "running" else doc
        if self._registry.has_manifest(doc["modelVersion"]):
            try:
                self._registry.activate(doc["modelVersion"])
            except errors.ValidationError as error:  # the job wrote a manifest serving cannot use
                return self.requests.update(doc, state="failed", error=error.message, finishedAt=now_iso(now))
            return self.requests.update(doc, state="activated", finishedAt=now_iso(now), error=None)
        finished = doc.get("runFinishedAt") or now_iso(now)
        if now - _seconds(finished) > self._grace:
            return self.requests.update(doc, state="failed", finishedAt=now_iso(now),
                                        error="the run succeeded but wrote no model manifest")
        return self.requests.update(doc, state="succeeded", runFinishedAt=finished) if \
            doc["state"] != "succeeded" else doc

    # -- facts ------------------------------------------------------------------------------------------
    def _active_manifest(self) -> dict | None:
        """The active model's manifest (two point reads), None before the first model."""
        version = self._registry.active_version()
        if version is None:
            return None
        try:
            return self._registry.manifest(version)
        except errors.NotFoundError:
            return None


def _cutoff(manifest: dict | None) -> str:
    """receivedThrough of the active model: orders after it are 'new'. '' before the first model."""
    return manifest["receivedThrough"] if manifest else ""


def _seconds(stamp: str) -> float:
    return float(to_epoch_seconds([stamp])[0])


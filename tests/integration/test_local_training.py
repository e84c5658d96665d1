"""The local trainer writes schema-valid documents, manifest last; activation is one atomic pointer flip."""
import threading

import pytest

from shared import bootstrap
from shared.adapters.local_trainer import LocalTrainer, train_model
from shared.domain import model_docs
from shared.domain.errors import NotFoundError
from shared.domain.ports import MODELS, USER_VECTORS
from shared.domain.training import FAILED, SUCCEEDED, TrainingRequest
from tests.builders import SMALL, clustered_orders, store_orders

VERSION = "20240301T000000Z-abcd1234"


def test_every_document_follows_the_schema_and_the_manifest_comes_last(wired):
    store_orders(wired, clustered_orders())
    manifest = train_model(wired, VERSION, SMALL)
    docs = [doc for _, doc in wired.read_changes(MODELS, 0, 10_000)]
    users = [doc for _, doc in wired.read_changes(USER_VECTORS, 0, 10_000)]
    assert {doc["type"] for doc in docs} == {"productShard", "similarShard", "boughtTogetherShard", "popularity",
                                             "manifest"}
    assert manifest["shards"]["boughtTogether"] == sum(doc["type"] == "boughtTogetherShard" for doc in docs)
    for doc in docs + users:
        model_docs.validate(doc, SMALL.factors)
    last_seq = max(seq for container in (MODELS, USER_VECTORS) for seq, _ in wired.read_changes(container, 0, 10_000))
    assert wired.read_changes(MODELS, last_seq - 1, 1)[0][1]["type"] == "manifest"
    assert manifest["counts"] == {"users": 60, "products": 40, "interactions": sum(
        len(doc["interactions"]) for doc in users), "orders": len(clustered_orders())}
    assert manifest["foldIn"] == {"confidenceOffset": 0, "regularizationScaling": "none"}


class PausingStore:
    """Delegates to a real store but holds the manifest write until released (a reader looks meanwhile)."""

    def __init__(self, store):
        self._store = store
        self.reached_manifest = threading.Event()
        self.release = threading.Event()

    def upsert(self, container, doc):
        if doc.get("type") == "manifest":
            self.reached_manifest.set()
            self.release.wait(30)
        return self._store.upsert(container, doc)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_a_reader_sees_the_old_model_until_the_pointer_flips(wired):
    store_orders(wired, clustered_orders())
    train_model(wired, "20240301T000000Z-old00001", SMALL)
    bootstrap.model_registry().activate("20240301T000000Z-old00001")
    service = bootstrap.recommendation_service()
    pausing = PausingStore(wired)
    worker = threading.Thread(target=train_model, args=(pausing, "20240302T000000Z-new00001", SMALL))
    worker.start()
    assert pausing.reached_manifest.wait(30)
    # Everything but the manifest of the new model is written; user vectors already carry the new version.
    assert service.for_user("u001")["modelVersion"] == "20240301T000000Z-old00001"
    with pytest.raises(NotFoundError):
        bootstrap.model_registry().activate("20240302T000000Z-new00001")   # no manifest yet: refused
    pausing.release.set()
    worker.join(30)
    bootstrap.model_registry().activate("20240302T000000Z-new00001")
    bootstrap.model_cache().invalidate()
    result = service.for_user("u001")
    assert result["modelVersion"] == "20240302T000000Z-new00001" and result["strategy"] == "personalized"


def test_local_trainer_runs_in_the_background_and_reports_like_any_trainer(wired):
    store_orders(wired, clustered_orders())
    trainer = LocalTrainer(wired)
    request = TrainingRequest("train-x", VERSION, SMALL)
    run_id = trainer.submit(request)
    assert trainer.submit(request) == run_id     # idempotent on the request id
    trainer.wait(60)
    assert trainer.status(run_id).state == SUCCEEDED
    # A fresh trainer (the host restarted) still knows the run finished: its manifest is there.
    assert LocalTrainer(wired).status(run_id).state == SUCCEEDED
    assert LocalTrainer(wired).status("local-20240101T000000Z-gone0000").state == FAILED


def test_training_without_orders_fails_cleanly(wired):
    trainer = LocalTrainer(wired)
    run_id = trainer.submit(TrainingRequest("train-empty", VERSION, SMALL))
    trainer.wait(30)
    status = trainer.status(run_id)
    assert status.state == FAILED and "no orders" in status.message

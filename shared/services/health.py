"""Health: is the store reachable, and which model is active. One point read (of the active-model pointer):
/api/health is anonymous and may be polled often, so it never reads database metadata, whose requests have
their own low rate limit on Cosmos DB."""
from __future__ import annotations

from shared.domain.errors import NotFoundError, UnavailableError
from shared.domain.model_docs import ACTIVE_POINTER_ID
from shared.domain.ports import MODELS, DocumentStore


class HealthService:
    def __init__(self, store_factory):
        # A factory, not a store: health must answer even when building the store fails.
        self._store_factory = store_factory

    def check(self) -> tuple[bool, dict]:
        try:
            store: DocumentStore = self._store_factory()
            try:
                active = store.read(MODELS, ACTIVE_POINTER_ID, ACTIVE_POINTER_ID).get("activeVersion")
            except NotFoundError:   # reachable, no model yet (a missing container is UnavailableError)
                active = None
        except (UnavailableError, OSError) as error:
            return False, {"status": "unavailable", "store": {"reachable": False, "error": str(error)}}
        return True, {"status": "ok", "store": {"reachable": True, "backend": store.backend}, "activeModel": active}

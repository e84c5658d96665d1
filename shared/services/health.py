"""Health: is the store reachable, and which model is active."""
from __future__ import annotations

from shared.domain.errors import NotFoundError, UnavailableError
from shared.domain.ports import MODELS, DocumentStore

from shared.domain.model_docs import ACTIVE_POINTER_ID


class HealthService:
    def __init__(self, store_factory):
        # A factory, not a store: health must answer even when building the store fails.
        self._store_factory = store_factory

    def check(self) -> tuple[bool, dict]:
        try:
            store: DocumentStore = self._store_factory()
            info = store.ping()
        except (UnavailableError, OSError) as error:
            return False, {"status": "unavailable", "store": {"reachable": False, "error": str(error)}}
        try:
            pointer = store.read(MODELS, ACTIVE_POINTER_ID, ACTIVE_POINTER_ID)
            active = pointer.get("activeVersion")
        except NotFoundError:
            active = None
        except UnavailableError as error:
            return False, {"status": "unavailable", "store": {"reachable": False, "error": str(error)}}
        return True, {"status": "ok", "store": {"reachable": True, "backend": info.backend},
                      "activeModel": active}

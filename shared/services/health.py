"""Health: is the store reachable, and which model is active. One point read (of the active-model pointer):
/api/health is anonymous and may be polled often, so it never reads database metadata, whose requests have
their own low rate limit on Cosmos DB."""
from __future__ import annotations

from shared.domain.errors import NotFoundError, UnavailableError
from shared.domain.model_docs import ACTIVE_POINTER_ID
from shared.domain.ports import MODELS, DocumentStore


class HealthService:
    def __init__(self, store_factory, model_cache_factory=None):
        # Factories, not objects: health must answer even when building the store fails.
        self._store_factory = store_factory
        self._model_cache_factory = model_cache_factory

    def check(self) -> tuple[bool, dict]:
        try:
            store: DocumentStore = self._store_factory()
            try:
                pointer = store.read(MODELS, ACTIVE_POINTER_ID, ACTIVE_POINTER_ID)
                active = pointer.get("activeVersion") if isinstance(pointer, dict) else None
            except NotFoundError:   # reachable, no model yet (a missing container is UnavailableError)
                active = None
        except (UnavailableError, OSError) as error:
            return False, {"status": "unavailable", "store": {"reachable": False, "error": str(error)}}
        except Exception:  # noqa: BLE001 - a damaged pointer: the model cache says what is wrong
            active = None
        report = {"status": "ok", "store": {"reachable": True, "backend": store.backend}, "activeModel": active}
        problem = self._model_problem()
        if problem:   # still 200: serving answers (previous model or popularity), but not with this model
            report.update(status="degraded", reason=problem)
        return True, report

    def _model_problem(self) -> str | None:
        """What the model cache found wrong, from memory (no store read)."""
        if self._model_cache_factory is None:
            return None
        try:
            return self._model_cache_factory().problem
        except UnavailableError as error:
            return f"the model cannot be read: {error}"

"""A loaded model is frozen out of the garbage collector's generations, and a replaced one is still freed."""
import gc
import weakref

from shared.services.model_cache import ModelCache
from shared.services.models import ModelRegistry
from tests.builders import SMALL, clustered_orders, trained


def test_a_loaded_model_is_frozen_and_the_model_it_replaces_is_freed(sqlite_store):
    registry = ModelRegistry(sqlite_store)
    trained(sqlite_store, registry, clustered_orders(), "20240301T000000Z-first001", SMALL)
    cache = ModelCache(sqlite_store, refresh_seconds=0)
    try:
        first = cache.current()
        assert first is not None and gc.get_freeze_count() > 0
        gone = weakref.ref(first)
        del first
        trained(sqlite_store, registry, clustered_orders(seed=4), "20240302T000000Z-second01", SMALL)
        assert cache.current().version == "20240302T000000Z-second01"
        assert gone() is None
    finally:
        gc.unfreeze()

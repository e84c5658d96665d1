"""Serving a large catalogue through the approximate index (APPROXIMATE_INDEX_PRODUCTS): the same service,
a real SQLite store and a synthetic model, side by side with exact scoring. The index only picks candidates:
what is served is exactly scored, the shopper's purchases (the order placed a moment ago included) are never
served, and the top 10 agrees with exact scoring (recall at 10 at least 0.98)."""
import asyncio
import random

import pytest

from bench.synthetic_model import VERSION, write_synthetic_model
from shared.adapters.sqlite_store import SqliteStore
from shared.services.approximate import ApproximateScorer
from shared.services.catalogue import Catalogue
from shared.services.model_cache import ModelCache
from shared.services.models import ModelRegistry
from shared.services.orders import OrderService
from shared.services.recommendations import RecommendationService
from shared.services.scoring import BatchScorer

USERS, PRODUCTS = 2000, 30_000


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    store = SqliteStore(str(tmp_path_factory.mktemp("approximate") / "store.sqlite3"))
    write_synthetic_model(store, USERS, PRODUCTS, factors=16)
    ModelRegistry(store).activate(VERSION)
    catalogue = Catalogue(store)

    def service(approximate_from: int) -> RecommendationService:
        return RecommendationService(store, ModelCache(store, 3600, approximate_from), catalogue)

    yield store, service(10_000), service(0)
    store.close()


def ids(result: dict) -> list[str]:
    return [item["productId"] for item in result["items"]]


def test_the_catalogue_size_switches_the_index_on(services):
    _, approximate, exact = services
    approximate.for_user("user-1")
    exact.for_user("user-1")
    assert isinstance(approximate._models.current().scorer, ApproximateScorer)
    assert type(exact._models.current().scorer) is BatchScorer


def test_recall_at_10_against_exact_scoring_and_the_scores_served_are_exact(services):
    _, approximate, exact = services
    users = [f"user-{n}" for n in random.Random(1).sample(range(USERS), 200)]
    overlaps = []
    for user in users:
        ours, reference = approximate.for_user(user), exact.for_user(user)
        assert ours["strategy"] == reference["strategy"] == "personalized"
        overlaps.append(len(set(ids(ours)) & set(ids(reference))) / 10)
        scores = {item["productId"]: item["score"] for item in reference["items"]}
        for item in ours["items"]:
            if item["productId"] in scores:
                assert item["score"] == pytest.approx(scores[item["productId"]], abs=1e-5)
    assert sum(overlaps) / len(overlaps) >= 0.98


def test_an_order_placed_a_moment_ago_is_folded_in_exactly_and_its_products_are_not_served(services):
    store, approximate, exact = services
    user = "user-7"
    bought = ids(exact.for_user(user, k=3))
    placed = OrderService(store).place({"userId": user, "orderId": "o-approximate-1",
                                        "items": [{"productId": pid, "quantity": 1} for pid in bought]})
    ours = approximate.for_user(user, session_token=placed.session_token)
    reference = exact.for_user(user, session_token=placed.session_token)
    assert not set(ids(ours)) & set(bought)
    assert len(set(ids(ours)) & set(ids(reference))) >= 9


def test_requests_served_on_the_event_loop_get_the_same_lists(services):
    _, approximate, _ = services
    users = [f"user-{n}" for n in range(20, 52)]

    async def ask_all():
        return await asyncio.gather(*(approximate.for_user_async(user) for user in users))

    for user, result in zip(users, asyncio.run(ask_all())):
        assert ids(result) == ids(approximate.for_user(user))

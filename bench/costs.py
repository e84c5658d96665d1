"""`python -m bench costs`: the store calls of every product operation, measured on the Cosmos protocol server
(@vercel/cosmosdb-server, started here as the contract tests start it), and what they cost in request units.

Each operation runs through the real services and the real CosmosStore; shared.store_calls records every call
(container, operation, kind, charge, bytes). The protocol server answers every request with a flat
`x-ms-request-charge: 1`, which is shown but is no measurement, so RU are estimated from Cosmos DB's published
costs by item size (`estimate`; docs/costs.md cites them). The tables printed are the ones in docs/costs.md."""
from __future__ import annotations

import math
import uuid
import warnings

from shared import store_calls
from shared.adapters.local_trainer import train_model
from shared.config import Settings
from shared.services.catalogue import Catalogue
from shared.services.health import HealthService
from shared.services.model_cache import ModelCache, load_model
from shared.services.models import ModelRegistry
from shared.services.orders import OrderService
from shared.services.recommendations import RecommendationService
from shared.services.training import TrainingService
from shared.domain.retrain_policy import RetrainPolicy
from tests.builders import SMALL, clustered_orders, store_orders
from tests.contract.cosmos_server import CosmosServer
from tests.fakes.trainers import FakeRuns, FakeTrainer

# Published costs (docs/costs.md, "Sources"): a point read is 1 RU at 1 KB and 10 RU at 100 KB; a write 5 RU
# at 1 KB and 50 RU at 100 KB (indexing off; default indexing adds). Between, linear in size. A query is charged
# at least QUERY_BASE per page and partition, plus about what reading its results costs.
QUERY_BASE = 2.8
VERSIONS = ("20240301T000000Z-cost0001", "20240302T000000Z-cost0002")

# The shop of issue 12: per day.
ORDERS_PER_DAY = 10_000
RECOMMENDATIONS_PER_DAY = 1_000_000
INSTANCES = 2                   # serving instances, each checking the model every 5 s, the catalogue every 30 s
PEAK_FACTOR = 3                 # peak hour over the daily average
PRICE_PER_100_RUS_HOUR = 0.008  # provisioned (manual) throughput, USD per 100 RU/s per hour
PRICE_PER_MILLION_RU = 0.25     # serverless, USD per million RU
HOURS_PER_MONTH = 730


def estimate(call: store_calls.StoreCall) -> float:
    """From the published costs and the call's bytes. Not from the protocol server's charge: it answers a
    flat 1 RU for every request, a placeholder rather than a measurement."""
    kb = max(call.item_bytes / 1024, 1.0) if call.items else 1.0
    if call.kind in (store_calls.POINT_READ, store_calls.METADATA):
        return 1 + (kb - 1) * 9 / 99
    if call.kind in (store_calls.WRITE, store_calls.PATCH):
        per_item = (call.item_bytes / call.items / 1024) if call.items else 1.0
        return max(call.items, 1) * (5 + (max(per_item, 1.0) - 1) * 45 / 99)
    return QUERY_BASE + (kb - 1) * 9 / 99 if call.items else QUERY_BASE


def run_operations(store) -> list[tuple[str, list[store_calls.StoreCall]]]:
    """Each product operation once, warm (as a serving process runs it), with its store calls."""
    registry = ModelRegistry(store)
    store_orders(store, clustered_orders())
    train_model(store, VERSIONS[0], SMALL)
    registry.activate(VERSIONS[0])
    # The model check and the catalogue refresh get rows of their own, not mixed into a request.
    cache, catalogue = ModelCache(store, refresh_seconds=3600), Catalogue(store, refresh_seconds=3600)
    catalogue.put("p001", {"title": "Mug", "category": "kitchen", "inStock": True})
    service = RecommendationService(store, cache, catalogue)
    training = TrainingService(store, FakeTrainer(FakeRuns()), registry, RetrainPolicy(1000, 3600, 86400),
                               params=SMALL)
    orders = OrderService(store)
    service.for_user("u001")
    service.similar("p001")                      # similar lists load on first use (measured below as well)
    body = {"orderId": "o-cost", "userId": "u001", "items": [{"productId": "p002", "quantity": 1}]}
    batch = [orders.place({"orderId": f"feed-{n}", "userId": f"feed-user-{n}",
                           "items": [{"productId": "p003", "quantity": 1}]}).order for n in range(100)]
    batch = [{**order, "id": order["orderId"], "receivedAt": "2030-01-01T00:00:00.000Z"} for order in batch]
    operations = [
        ("place order", lambda: orders.place(body)),
        ("place order, retried", lambda: orders.place(body)),
        ("recommendations, known user", lambda: service.for_user("u001")),
        ("recommendations, new user", lambda: service.for_user("someone-new")),
        ("popular", lambda: service.popular()),
        ("similar", lambda: service.similar("p001")),
        ("model check (every 5 s per instance)", lambda: (cache.invalidate(), cache.current())),
        ("catalogue refresh (every 30 s per instance)", catalogue.refresh),
        ("change feed batch of 100 orders", lambda: training.on_orders(batch)),
        ("reconcile tick", training.reconcile),
        ("health", lambda: HealthService(lambda: store).check()),
        ("model load", lambda: load_model(store, VERSIONS[0])),
        ("similar lists, first use", lambda: load_model(store, VERSIONS[0]).similar(store).get("p001")),
    ]
    measured = []
    for name, operation in operations:
        with store_calls.recording() as calls:
            operation()
        measured.append((name, calls.calls))
    train_model(store, VERSIONS[1], SMALL)
    with store_calls.recording() as calls:
        registry.activate(VERSIONS[1])          # and retires nothing yet: the previous version is kept
    measured.append(("model activation", calls.calls))
    return measured


def kinds_text(calls: list[store_calls.StoreCall]) -> str:
    counted: dict[str, int] = {}
    for call in calls:
        label = f"{call.kind} {call.container}"
        counted[label] = counted.get(label, 0) + 1
    return ", ".join(f"{count} x {label}" for label, count in counted.items()) or "none"


def table(measured) -> tuple[str, dict[str, float]]:
    lines = ["| operation | store calls | charge the server reported | estimated RU |", "|---|---|---|---|"]
    ru: dict[str, float] = {}
    for name, calls in measured:
        charged = [call.charge for call in calls if call.charge is not None]
        ru[name] = sum(estimate(call) for call in calls)
        lines.append(f"| {name} | {kinds_text(calls)} | {sum(charged):.1f} |" if charged else
                     f"| {name} | {kinds_text(calls)} | not reported |")
        lines[-1] += f" {ru[name]:.1f} |"
    return "\n".join(lines), ru


def shop(ru: dict[str, float]) -> str:
    per_day = {
        "place order": ORDERS_PER_DAY,
        "recommendations, known user": RECOMMENDATIONS_PER_DAY,
        "model check (every 5 s per instance)": INSTANCES * 86400 / 5,
        "catalogue refresh (every 30 s per instance)": INSTANCES * 86400 / 30,
        "change feed batch of 100 orders": 86400 / 2,        # worst case: a batch at every 2 s poll
        "reconcile tick": 86400 / 10,
        "health": 86400 / 30,
    }
    daily = sum(ru[name] * count for name, count in per_day.items())
    average = daily / 86400
    provisioned = max(400, math.ceil(average * PEAK_FACTOR / 100) * 100)
    lines = ["| | per day | RU per day |", "|---|---|---|"]
    lines += [f"| {name} | {count:,.0f} | {ru[name] * count:,.0f} |" for name, count in per_day.items()]
    lines += ["", f"Total: {daily:,.0f} RU a day, {average:.1f} RU/s on average, {average * PEAK_FACTOR:.1f} RU/s "
                  f"at a peak of {PEAK_FACTOR}x.",
              f"Provisioned (manual, minimum 400 RU/s): {provisioned} RU/s = "
              f"${provisioned / 100 * PRICE_PER_100_RUS_HOUR * HOURS_PER_MONTH:,.2f} a month.",
              f"Serverless: {daily * 30 / 1e6:,.1f} million RU a month = "
              f"${daily * 30 / 1e6 * PRICE_PER_MILLION_RU:,.2f} a month (storage and training writes not included)."]
    return "\n".join(lines)


def main() -> None:
    from shared.adapters.cosmos_store import CosmosStore
    from urllib3.exceptions import InsecureRequestWarning
    warnings.filterwarnings("ignore", category=InsecureRequestWarning)   # the local server's own certificate
    server = CosmosServer.start()
    store = CosmosStore.from_settings(Settings.from_env({
        "STORE_BACKEND": "cosmos", "COSMOS_ENDPOINT": server.endpoint, "COSMOS_KEY": server.key,
        "COSMOS_DATABASE": f"costs-{uuid.uuid4().hex[:8]}", "COSMOS_CREATE_IF_MISSING": "true",
        "COSMOS_VERIFY_TLS": "false"}))
    try:
        text, ru = table(run_operations(store))
        print("Store calls per operation (Cosmos protocol server, azure-cosmos SDK):\n")
        print(text)
        print("\nThe shop of 10,000 orders and 1,000,000 recommendations a day:\n")
        print(shop(ru))
    finally:
        store.close()
        server.stop()


if __name__ == "__main__":
    main()

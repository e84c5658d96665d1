"""Retraining driven by the change feed: `on_orders_changed` (Cosmos DB trigger on orders) and
`reconcile_training` (timer). Both are idempotent and never lose work: what they cannot finish now stays
recorded as a training request, and the next timer tick carries on."""
from __future__ import annotations

import logging

import azure.functions as func

from shared import bootstrap

bp = func.Blueprint()
log = logging.getLogger("functions.training")

# Poll the feed every 2 s (the host default is 5 s): a shopper's orders should reach training quickly.
FEED_POLL_DELAY_MS = 2000
MAX_ITEMS_PER_INVOCATION = 500


@bp.function_name("on_orders_changed")
@bp.cosmos_db_trigger(arg_name="documents", connection="CosmosDbConnection",
                      database_name="%COSMOS_DATABASE%", container_name="%COSMOS_ORDERS_CONTAINER%",
                      lease_container_name="%COSMOS_LEASES_CONTAINER%", lease_container_prefix="orders-",
                      create_lease_container_if_not_exists=False, feed_poll_delay=FEED_POLL_DELAY_MS,
                      max_items_per_invocation=MAX_ITEMS_PER_INVOCATION, start_from_beginning=False)
@bp.retry(strategy="exponential_backoff", max_retry_count="5", minimum_interval="00:00:02",
          maximum_interval="00:01:00")
def on_orders_changed(documents: func.DocumentList) -> None:
    orders = [doc for doc in documents if doc.get("type") == "order"]
    if orders:
        try:
            bootstrap.trending_updater().add(orders)
        finally:   # trending failing (the retry policy redelivers) must not hold back the retrain decision
            request = bootstrap.training_service().on_orders(orders)
            if request is not None:
                log.info("training request %s is %s", request["id"], request["state"])


@bp.function_name("reconcile_training")
@bp.timer_trigger(arg_name="timer", schedule="%RECONCILE_SCHEDULE%", run_on_startup=False, use_monitor=False)
def reconcile_training(timer: func.TimerRequest) -> None:
    done = bootstrap.training_service().reconcile()
    if any(done.values()):
        log.info("reconcile: %s", done)

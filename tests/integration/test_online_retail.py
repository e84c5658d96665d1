"""Acceptance on the real Online Retail data (read from ../shared/data; the project never copies it)."""
import os

import pytest

from shared import bootstrap
from shared.domain.ports import ORDERS, Query
from shared.services.order_import import ImportStats, import_orders, open_text
from tests.integration.localhost import ROOT

DATASET = os.path.join(os.path.dirname(ROOT), "shared", "data", "online_retail.csv.gz")
pytestmark = [pytest.mark.dataset,
              pytest.mark.skipif(not os.path.exists(DATASET), reason="evaluation data not present beside the repo")]


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    from shared.config import Settings
    path = tmp_path_factory.mktemp("retail") / "store.sqlite3"
    bootstrap.override(settings=Settings.from_env({"SQLITE_PATH": str(path), "MODEL_REFRESH_SECONDS": "0"}))
    stats, catalogue = ImportStats(), {}
    with open_text(DATASET) as handle:
        import_orders(handle, bootstrap.order_service(), stats, catalogue)
    from commands.import_orders import _merge_catalogue
    _merge_catalogue(bootstrap.store(), catalogue)
    from commands.train import train_now
    manifest = train_now()
    yield stats, manifest
    bootstrap.reset()


def test_import_and_train_give_the_expected_model(imported):
    stats, manifest = imported
    assert stats.lines == 541_909
    assert stats.rejected["cancellation"] > 9000 and stats.rejected["no_customer"] > 130_000
    assert 4200 <= manifest["counts"]["users"] <= 4400
    assert 3600 <= manifest["counts"]["products"] <= 3700


def test_a_known_customer_gets_nothing_they_already_bought(imported):
    service = bootstrap.recommendation_service()
    orders = bootstrap.store().query(ORDERS, Query(partition_key="17850")).items
    bought = {line["productId"] for order in orders for line in order["items"]}
    result = service.for_user("17850", k=50)
    assert result["strategy"] == "personalized" and len(result["items"]) == 50
    assert not bought & {item["productId"] for item in result["items"]}
    assert result["items"][0]["title"]   # the importer filled the catalogue


def test_a_new_shoppers_order_changes_their_next_response_at_once(imported):
    service = bootstrap.recommendation_service()
    before = service.for_user("new-shopper-1", k=10)
    assert before["strategy"] == "popular"
    placed = bootstrap.order_service().place({"userId": "new-shopper-1", "items": [
        {"productId": "22865", "quantity": 4}, {"productId": "22866", "quantity": 4}]})
    after = service.for_user("new-shopper-1", k=10, session_token=placed.session_token)
    ids = [item["productId"] for item in after["items"]]
    assert after["strategy"] == "personalized" and not {"22865", "22866"} & set(ids)
    assert ids != [item["productId"] for item in before["items"]]

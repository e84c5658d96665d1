"""The local host serving the real function app plus two comparison endpoints, for the serving benchmark:
(a) a precomputed top-10 list read from the same store, (b) implicit's recommend(recalculate_user=True)."""
from __future__ import annotations

import json
import sys

import azure.functions as func
import numpy as np
from aiohttp import web
from scipy import sparse

from devhost.server import HostKeys, LocalHost
from functions import admin, catalogue, health, orders, recommendations, training
from functions.http import handles_errors, json_response, route_param
from shared import bootstrap
from shared.domain.ports import USER_VECTORS

bench = func.Blueprint()
_implicit: dict = {}


@bench.function_name("bench_precomputed")
@bench.route(route="bench/precomputed/{user_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handles_errors
def bench_precomputed(req: func.HttpRequest) -> func.HttpResponse:
    user = route_param(req, "user_id")
    return json_response(bootstrap.store().read(USER_VECTORS, f"top10-{user}", user)["items"])


@bench.function_name("bench_implicit")
@bench.route(route="bench/implicit/{user_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handles_errors
def bench_implicit(req: func.HttpRequest) -> func.HttpResponse:
    user = route_param(req, "user_id")
    model, index = implicit_model()
    doc = bootstrap.store().read(USER_VECTORS, user, user)
    return json_response(implicit_recommend(model, index, doc))


def implicit_model():
    if not _implicit:
        from implicit.cpu.als import AlternatingLeastSquares
        loaded = bootstrap.model_cache().current()
        model = AlternatingLeastSquares(factors=loaded.vectors.shape[1], regularization=0.5, num_threads=1)
        model.item_factors = np.ascontiguousarray(loaded.vectors)   # implicit's own layout
        model.user_factors = np.zeros((1, loaded.vectors.shape[1]), dtype=np.float32)
        _implicit.update(model=model, index=loaded.index, ids=loaded.product_ids)
    return _implicit["model"], _implicit["index"]


def implicit_recommend(model, index, doc) -> list:
    items = [(index[pid], value) for pid, value in doc["interactions"].items()]
    row = sparse.csr_matrix(([v for _, v in items], ([0] * len(items), [i for i, _ in items])),
                            shape=(1, len(index)), dtype=np.float32)
    ids, scores = model.recommend(0, row, N=10, recalculate_user=True, filter_already_liked_items=True)
    return [[_implicit["ids"][i], float(s)] for i, s in zip(ids, scores)]


def main(port: int) -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    for blueprint in (health.bp, orders.bp, recommendations.bp, catalogue.bp, training.bp, admin.bp, bench):
        app.register_functions(blueprint)
    settings = bootstrap.settings()
    host = LocalHost(app, bootstrap.store(), settings, HostKeys.from_settings(settings))
    bootstrap.recommendation_service().for_user("user-0")   # load the model before the first request
    implicit_model()
    print(json.dumps({"ready": port}), flush=True)
    web.run_app(host.web_app(), host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))

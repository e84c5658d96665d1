"""The local host serving the real function app plus two comparison endpoints, for the serving benchmark:
(a) a precomputed top-10 list read from the same store, (b) implicit's recommend(recalculate_user=True)."""
from __future__ import annotations

import asyncio
import functools
import json
import sys

import azure.functions as func
import numpy as np
from scipy import sparse

from devhost.processes import serve
from devhost.server import HostKeys
from functions import admin, catalogue, health, orders, recommendations, training
from functions.http import handles_errors, json_response, route_param
from shared import bootstrap
from shared.domain.ports import USER_VECTORS

bench = func.Blueprint()
_implicit: dict = {}
# Above this many products (b) is measured in process only (tens of ms a call), and its copy of the vectors
# is not made in the serving processes, whose memory is one of the figures.
IMPLICIT_OVER_HTTP_UP_TO = 250_000


@bench.function_name("bench_precomputed")
@bench.route(route="bench/precomputed/{user_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handles_errors
async def bench_precomputed(req: func.HttpRequest) -> func.HttpResponse:
    # Async like the service's endpoint, so both skip the thread pool hop and the comparison stays fair.
    user, store = route_param(req, "user_id"), bootstrap.store()
    read = functools.partial(store.read, USER_VECTORS, f"top10-{user}", user)
    return json_response((read() if store.embedded else await asyncio.to_thread(read))["items"])


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
        from threadpoolctl import threadpool_limits
        threadpool_limits(1, "blas")   # as for our scoring; implicit warns that its BLAS calls want one thread
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


def build_app() -> func.FunctionApp:
    """The function app plus the bench endpoints, with the model loaded: every serving process calls this before
    it listens."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    for blueprint in (health.bp, orders.bp, recommendations.bp, catalogue.bp, training.bp, admin.bp, bench):
        app.register_functions(blueprint)
    bootstrap.recommendation_service().for_user("user-0")   # load the model before the first request
    if len(bootstrap.model_cache().current().product_ids) <= IMPLICIT_OVER_HTTP_UP_TO:
        implicit_model()
    return app


def main(port: int) -> None:
    """Serve in FUNCTIONS_WORKER_PROCESS_COUNT processes; print {"ready": port} once all of them listen."""
    keys = HostKeys.from_settings(bootstrap.settings())
    serve("bench.serving_host:build_app", port=port, keys=keys,
          on_ready=lambda _host: print(json.dumps({"ready": port}), flush=True))


if __name__ == "__main__":
    main(int(sys.argv[1]))

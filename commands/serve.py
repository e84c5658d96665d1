"""`manage.py serve`: the local functions host on the embedded default."""
from __future__ import annotations

import json
import logging
import os
import sys

from commands.train import train_if_no_model
from devhost import identity
from devhost.demo import load_demo
from devhost.processes import LOG_FORMAT, serve
from devhost.server import HostKeys, LocalHost
from devhost.validation import FunctionAppError
from shared import bootstrap
from shared.domain.ports import ORDERS


def add_arguments(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--demo", action="store_true", help="load demo data into an empty store (and train)")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    parser.add_argument("--app", default="function_app:app",
                        help="the FunctionApp to serve, as module:attribute (or module:factory)")


def route_prefix(host_json: str = "host.json") -> str:
    try:
        with open(host_json, encoding="utf-8") as handle:
            return json.load(handle).get("extensions", {}).get("http", {}).get("routePrefix", "api")
    except FileNotFoundError:
        return "api"


def run(args) -> int:
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format=LOG_FORMAT)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    provider = identity.configure(os.environ, args.host, args.port)   # before the settings are read
    settings = bootstrap.settings()
    store = bootstrap.store()
    if args.demo:
        prepare_demo(store)
    keys = HostKeys.from_settings(settings)
    processes = settings.functions_worker_process_count

    def banner(host: LocalHost) -> None:
        where = settings.sqlite_path if settings.store_backend == "sqlite" else settings.cosmos_endpoint
        print(f"Local functions host on http://{args.host}:{args.port} (store: {settings.store_backend} {where}; "
              f"{processes} worker process{'es' if processes > 1 else ''})")
        print("\n".join(host.describe()))
        print("\n".join(keys.banner_lines()))
        print(f"Storefront:   http://{args.host}:{args.port}/   Operations dashboard: "
              f"http://{args.host}:{args.port}/manage/")
        if provider is not None:
            print("\n".join(provider.describe(f"http://{args.host}:{args.port}")), flush=True)
        elif settings.shopper_auth == "easyauth":
            print("SHOPPER_AUTH=easyauth: no App Service authentication in front of this host, so any caller can "
                  "send X-MS-CLIENT-PRINCIPAL-ID", flush=True)
        elif settings.shopper_auth == "key":
            print("Try: curl -H 'x-functions-key: <function key>' "
                  f"http://{args.host}:{args.port}/api/users/demo-user-0001/orders", flush=True)

    # The app is imported in serve, as the worker would, after settings are in place.
    try:
        serve(args.app, args.host, args.port, keys=keys, route_prefix=route_prefix(), on_ready=banner)
    except FunctionAppError as error:   # an app the Functions host would refuse: its messages, no traceback
        print("\n".join(error.lines), file=sys.stderr)
        return 1
    print("Stopped.")
    return 0


def prepare_demo(store) -> None:
    """On an empty store: the demo catalogue and order history; then a first model if none is active."""
    if store.count(ORDERS) == 0:
        # The change feed starts at the host's start (start_from_beginning=False, as in Azure), so it never
        # delivers orders loaded before it: give their recent buyers to trending the way the trigger would.
        summary = load_demo(store, bootstrap.order_service(), on_loaded=bootstrap.trending_updater().add)
        print(f"Demo data loaded: {summary['products']} products, {summary['orders']} orders", flush=True)
    train_if_no_model(sys.stdout)

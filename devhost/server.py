"""The local functions host: serves every function that `app.get_functions()` returns, with Azure's HTTP
routing and keys, the Cosmos DB trigger from the SQLite change feed, and timers. Built on aiohttp."""
from __future__ import annotations

import asyncio
import importlib
import logging
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields

import azure.functions as func
from aiohttp import web

from devhost import identity
from devhost.cors import cors_middlewares, load_policy
from devhost.http_errors import JsonErrorRunner, json_error, read_body
from devhost.routing import authorized, build_routes, match
from devhost.static import add_static_routes
from devhost.triggers import ChangeFeedPump, TimerRunner
from devhost.validation import index_functions
from functions.http import redact_url

log = logging.getLogger("devhost")
MAX_REQUEST_BYTES = 100 * 1024 * 1024   # the Functions host's own request size limit
KEEPALIVE_SECONDS = 130                 # Kestrel's KeepAliveTimeout: an idle connection is closed after it


@dataclass
class HostKeys:
    function_key: str
    admin_key: str
    generated: tuple[str, ...] = ()   # which of the two were made up at start (only those are printed)

    @classmethod
    def from_settings(cls, settings) -> "HostKeys":
        generated = tuple(name for name, value in (("function", settings.local_function_key),
                                                   ("admin", settings.local_admin_key)) if not value)
        return cls(settings.local_function_key or secrets.token_urlsafe(24),
                   settings.local_admin_key or secrets.token_urlsafe(24), generated)

    def banner_lines(self) -> list[str]:
        """Generated keys once, at start; keys set by environment variable are the operator's, never echoed."""
        shown = {"function": ("Function key: ", self.function_key, "LOCAL_FUNCTION_KEY"),
                 "admin": ("Admin key:    ", self.admin_key, "LOCAL_ADMIN_KEY")}
        return [f"{label}{value}" if name in self.generated else f"{label}(set by {setting})"
                for name, (label, value, setting) in shown.items()]


class LocalHost:
    """One process's share of the host: HTTP always; the Cosmos DB trigger and timers only with `triggers`
    (with several processes only in the primary: two change feed pumps would deliver every change twice)."""

    def __init__(self, app: func.FunctionApp, store, settings, keys: HostKeys, route_prefix: str = "api",
                 triggers: bool = True):
        export_settings(settings)
        self.functions = index_functions(app, route_prefix)  # refuses what the Functions host refuses
        self.routes = build_routes(self.functions, route_prefix)
        self.store = store
        self.settings = settings
        self.keys = keys
        self.run_triggers = triggers
        self.executor = ThreadPoolExecutor(max_workers=settings.python_threadpool_thread_count,
                                           thread_name_prefix="worker")
        self.pid = str(os.getpid())
        self.stop_event: asyncio.Event | None = None
        self.background: list[asyncio.Task] = []

    # -- HTTP -----------------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        response = await self._dispatch(request)
        if log.isEnabledFor(logging.INFO):   # --quiet: not even the line's arguments (path_qs builds a string)
            log.info("%s %s %d %.1fms", request.method, redact_url(request.path_qs), response.status,
                     (time.perf_counter() - started) * 1000)
        response.headers["X-Worker-Pid"] = self.pid   # which process answered, with several
        return response

    async def _dispatch(self, request: web.Request) -> web.Response:
        route, found = match(self.routes, request.method, request.path)
        if route is None:
            if found:
                return _json_error(405, "method_not_allowed", f"{request.method} is not allowed here",
                                   {"Allow": ", ".join(sorted(found))})
            return _json_error(404, "not_found", f"no function serves {request.path}")
        presented = request.headers.get("x-functions-key") or request.query.get("code")
        if not authorized(route.auth_level, presented, self.keys.function_key, self.keys.admin_key):
            return _json_error(401, "unauthorized", "a valid function key is required (x-functions-key header "
                                                    "or code query parameter)")
        try:
            body = await read_body(request, MAX_REQUEST_BYTES) if request.body_exists else b""
        except web.HTTPRequestEntityTooLarge:
            return _json_error(413, "payload_too_large", f"the body is larger than {MAX_REQUEST_BYTES} bytes")
        except web.HTTPRequestTimeout:
            return _json_error(408, "request_timeout", "the request body arrived too slowly",
                               {"Connection": "close"})
        params = query_params(request.query)
        http_request = func.HttpRequest(request.method, str(request.url), headers=dict(request.headers),
                                        params=params, route_params=found, body=body)
        try:
            if route.is_async:
                result = await route.handler(http_request)
            else:
                result = await asyncio.get_running_loop().run_in_executor(self.executor, route.handler, http_request)
        except Exception:  # noqa: BLE001 - as the Functions host does: log it, answer 500, keep serving
            log.exception("function %s failed", route.name)
            return _json_error(500, "internal_error", "the function failed")
        return _to_aiohttp(result)

    # -- lifecycle --------------------------------------------------------------------------------------
    async def _start_background(self, _app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        for function in self.functions if self.run_triggers else ():
            kind = function.get_trigger().type
            if kind == "cosmosDBTrigger":
                runner = ChangeFeedPump(function, self.store, self.settings.container_names())
            elif kind == "timerTrigger":
                runner = TimerRunner(function)
            else:
                continue
            self.background.append(loop.create_task(runner.run(loop, self.executor, self.stop_event)))

    async def _stop_background(self, _app: web.Application) -> None:
        if self.stop_event is not None:
            self.stop_event.set()
        for task in self.background:
            try:
                await asyncio.wait_for(task, timeout=10)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def runner(self) -> web.AppRunner:
        """What serves web_app(): the host's own errors as JSON, slow clients cut (devhost/http_errors.py)."""
        return JsonErrorRunner(self.web_app(), self.settings.local_request_headers_timeout_seconds,
                               access_log=None, shutdown_timeout=5, keepalive_timeout=KEEPALIVE_SECONDS)

    def web_app(self) -> web.Application:
        application = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=cors_middlewares(load_policy()))
        identity.add_routes(application.router)   # the development identity provider, when SHOPPER_AUTH=jwt asks
        # The storefront and dashboard pages, before the functions' catch-all route.
        add_static_routes(application.router, lambda path: match(self.routes, "GET", path)[0])
        application.router.add_route("*", "/{tail:.*}", self.handle)
        application.on_startup.append(self._start_background)
        application.on_cleanup.append(self._stop_background)
        return application

    def describe(self) -> list[str]:
        lines = []
        for route in sorted(self.routes, key=lambda item: item.name):
            lines.append(f"  {route.name}: [{','.join(sorted(route.methods))}] /api/{route.template} "
                         f"({route.auth_level.lower()})")
        for function in self.functions:
            kind = function.get_trigger().type
            if kind != "httpTrigger":
                lines.append(f"  {function.get_function_name()}: {kind}")
        return lines


def load_app(spec: str) -> func.FunctionApp:
    """`module:attribute` (attribute `app` when left out): a FunctionApp, or a function that returns one."""
    module, _, name = spec.partition(":")
    app = getattr(importlib.import_module(module), name or "app")
    return app if isinstance(app, func.FunctionApp) else app()


def export_settings(settings) -> None:
    """In Azure every app setting is an environment variable, defaults included (`%NAME%` in bindings
    resolves against them); make it so here too."""
    for item in fields(settings):
        value = getattr(settings, item.name)
        os.environ.setdefault(item.metadata["env"], str(value).lower() if isinstance(value, bool) else str(value))


def _to_aiohttp(result) -> web.Response:
    if result is None:
        return web.Response(status=204)
    headers = {key: value for key, value in result.headers.items() if key.lower() != "content-type"}
    mimetype = result.mimetype or "text/plain"
    textual = mimetype.startswith("text/") or mimetype == "application/json"
    return web.Response(status=result.status_code, body=result.get_body(), headers=headers, content_type=mimetype,
                        charset=result.charset if textual else None)


def query_params(query) -> dict[str, str]:
    """The query as the Functions host gives it to the worker: a repeated key once, its values joined with
    commas (ASP.NET Core's StringValues.ToString()); the key `code` left out (it is the function key)."""
    params: dict[str, list[str]] = {}
    for key, value in query.items():
        if key != "code":
            params.setdefault(key, []).append(value)
    return {key: ",".join(values) for key, values in params.items()}


def _json_error(status: int, code: str, message: str, headers: dict | None = None) -> web.Response:
    return json_error(status, code, message, headers)

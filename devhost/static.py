"""The storefront (`/`) and the operations dashboard (`/manage/`) as static files, from `storefront/`. Only the
local host serves them: in Azure the function app serves the API alone and the files go to a static host
(docs/deploy.md). The URL layout is the folder's layout, so the folder deploys as it is."""
from __future__ import annotations

import json
import os
from typing import Callable

from aiohttp import web

from devhost.routing import ANONYMOUS, HttpRoute

STOREFRONT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "storefront")
CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json",
                 ".svg": "image/svg+xml", ".png": "image/png"}
# Every file the pages need, by URL path; nothing else under storefront/ (tests, tools) is served.
PAGES = {"/": "index.html", "/manage/": "manage/index.html"}
SERVED_FOLDERS = ("assets",)
# Optional API routes the pages use when the app has them; config.json tells the pages, so they never probe for
# a missing route (a 404 is a console error in the browser).
OPTIONAL_FEATURES = {"trending": "/api/recommendations/trending",
                     "boughtTogether": "/api/products/P0001/bought-together"}


def add_static_routes(router: web.UrlDispatcher, route_for_get: Callable[[str], HttpRoute | None],
                      root: str = STOREFRONT_DIR) -> None:
    """GET/HEAD routes for the pages and their assets; registered before the functions' catch-all route.
    `route_for_get(path)` is the function route that answers GET on that path, if any."""
    for path, file in PAGES.items():
        router.add_get(path, _file_handler(os.path.join(root, file)))
    router.add_get("/manage", _redirect_to("/manage/"))
    router.add_get("/config.json", _config_handler(os.path.join(root, "config.json"), route_for_get))
    for folder in SERVED_FOLDERS:
        router.add_get(f"/{folder}/{{name:[A-Za-z0-9_.-]+}}", _folder_handler(os.path.join(root, folder)))


def _file_handler(path: str):
    async def serve_file(_request: web.Request) -> web.StreamResponse:
        return _file_response(path)
    return serve_file


def _config_handler(path: str, route_for_get: Callable[[str], HttpRoute | None]):
    """The committed config.json, with `features` set from the routes this app really has: anonymous ones only,
    since the pages hold no function key."""
    def reachable(path: str) -> bool:
        route = route_for_get(path)
        return route is not None and route.auth_level == ANONYMOUS

    async def serve_config(_request: web.Request) -> web.StreamResponse:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
        config["features"] = {name: reachable(route) for name, route in OPTIONAL_FEATURES.items()}
        return web.json_response(config, headers={"Cache-Control": "no-cache"})
    return serve_config


def _folder_handler(folder: str):
    async def serve_from_folder(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]   # the route pattern allows no '/', so no way out of the folder
        return _file_response(os.path.join(folder, name))
    return serve_from_folder


def _redirect_to(location: str):
    async def redirect(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently(location)
    return redirect


def _file_response(path: str) -> web.StreamResponse:
    extension = os.path.splitext(path)[1]
    if extension not in CONTENT_TYPES or not os.path.isfile(path):
        return web.json_response({"error": {"code": "not_found", "message": "no such file", "details": None}},
                                 status=404)
    # no-cache: the browser revalidates (ETag / Last-Modified), so an edited file shows on the next reload.
    return web.FileResponse(path, headers={"Content-Type": CONTENT_TYPES[extension], "Cache-Control": "no-cache"})

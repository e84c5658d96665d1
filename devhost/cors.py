"""CORS as `func start` applies it: the `Host` section of local.settings.json (`CORS`: comma-separated origins,
`CORSCredentials`) becomes ASP.NET Core's CORS middleware with `WithOrigins(...).AllowAnyHeader().AllowAnyMethod()`
(and `AllowCredentials()`), in front of every route (Core Tools, src/Cli/func/Actions/HostActions/Startup.cs;
ASP.NET Core, CorsMiddleware.cs / CorsService.cs). Its rules, reproduced:

- no `CORS` value: no middleware at all; an OPTIONS request reaches routing like any other;
- a request without `Origin` is untouched;
- a preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`) is answered 204 by the middleware on any
  path, without running a function; the CORS headers only when the origin is allowed;
- any other request with `Origin` runs as usual, and its response gets `Access-Control-Allow-Origin` when the
  origin is allowed (the origin itself, or `*` for a `*` policy), `Access-Control-Allow-Credentials: true` with
  `CORSCredentials`, `Vary: Origin` when several origins are listed; no `Access-Control-Expose-Headers`, so a
  script on another origin cannot read custom response headers (such as `X-Session-Token`) unless the function
  sets that header itself;
- origins compare exactly after lower-casing the configured ones (no trimming: "with no spaces"), and `*` with
  `CORSCredentials` is refused at start, as ASP.NET Core's policy builder does."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

from aiohttp import web

from shared.domain.errors import ConfigurationError

ANY_ORIGIN = "*"


@dataclass(frozen=True)
class CorsPolicy:
    origins: tuple[str, ...]
    credentials: bool = False

    @classmethod
    def parse(cls, origins: str | None, credentials: bool = False) -> "CorsPolicy | None":
        if not origins:
            return None
        listed = tuple(origin.lower() for origin in origins.split(",") if origin)
        if not listed:
            return None
        policy = cls(listed, bool(credentials))
        if policy.any_origin and policy.credentials:
            raise ConfigurationError("Host.CORS '*' together with Host.CORSCredentials true is refused: the CORS "
                                     "protocol does not allow a wildcard origin with credentials")
        return policy

    @property
    def any_origin(self) -> bool:
        return ANY_ORIGIN in self.origins

    def allows(self, origin: str) -> bool:
        return bool(origin) and (self.any_origin or origin in self.origins)

    def headers_for(self, request: web.Request, preflight: bool) -> dict[str, str]:
        origin = request.headers.get("Origin", "")
        if not self.allows(origin):
            return {}
        headers = {"Access-Control-Allow-Origin": ANY_ORIGIN if self.any_origin else origin}
        if self.credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        if preflight:
            requested = request.headers.get("Access-Control-Request-Headers", "")
            names = [name.strip() for name in requested.split(",") if name.strip()]
            if names:
                headers["Access-Control-Allow-Headers"] = ",".join(names)
            headers["Access-Control-Allow-Methods"] = request.headers["Access-Control-Request-Method"]
        if not self.any_origin and len(self.origins) > 1:
            headers["Vary"] = "Origin"
        return headers


def load_policy(path: str = "local.settings.json") -> CorsPolicy | None:
    """The policy of local.settings.json's Host section (none when the file or the value is missing)."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        host = json.load(handle).get("Host") or {}
    credentials = host.get("CORSCredentials", False)
    if not isinstance(credentials, bool):
        raise ConfigurationError("Host.CORSCredentials in local.settings.json must be true or false")
    origins = host.get("CORS")
    if origins is not None and not isinstance(origins, str):
        raise ConfigurationError("Host.CORS in local.settings.json must be a comma-separated string of origins")
    return CorsPolicy.parse(origins, credentials)


def cors_middlewares(policy: CorsPolicy | None) -> list:
    """The aiohttp middleware list for `policy` (empty without one, as Core Tools adds no middleware)."""
    if policy is None:
        return []

    @web.middleware
    async def cors(request: web.Request, handler):
        if "Origin" not in request.headers:
            return await handler(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return web.Response(status=204, headers=policy.headers_for(request, preflight=True))
        response = await handler(request)
        for name, value in policy.headers_for(request, preflight=False).items():
            if name == "Vary":
                response.headers.add(name, value)
            else:
                response.headers[name] = value
        return response

    return [cors]

"""Azure Functions HTTP routing, rebuilt from the registered functions: route templates with parameters,
the route prefix from host.json, methods, and auth levels with function and admin keys."""
from __future__ import annotations

import hmac
import inspect
import re
from dataclasses import dataclass
from typing import Callable

ANONYMOUS, FUNCTION, ADMIN = "ANONYMOUS", "FUNCTION", "ADMIN"
_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(\?)?(?::[^}]*)?\}")


@dataclass(frozen=True)
class HttpRoute:
    name: str
    template: str
    pattern: re.Pattern
    methods: frozenset[str]
    auth_level: str
    handler: Callable
    is_async: bool = False   # async functions run on the event loop, sync ones in the thread pool (as in Azure)


def compile_template(prefix: str, template: str) -> re.Pattern:
    """`users/{user_id}/orders/{order_id?}` -> a regex with named groups; `{*rest}` takes the remaining path."""
    path = "/".join(part for part in (prefix.strip("/"), template.strip("/")) if part)
    out, pos = [], 0
    for match in _PARAM.finditer(path):
        out.append(re.escape(path[pos:match.start()]))
        catch_all, name, optional = match.group(1), match.group(2), match.group(3)
        body = ".*" if catch_all else "[^/]+"
        if optional and out and out[-1].endswith("/"):
            out[-1] = out[-1][:-1]
            out.append(f"(?:/(?P<{name}>{body}))?")
        else:
            out.append(f"(?P<{name}>{body}){'?' if optional else ''}")
        pos = match.end()
    out.append(re.escape(path[pos:]))
    return re.compile("^/" + "".join(out) + "/?$", re.IGNORECASE)


def build_routes(functions, prefix: str) -> list[HttpRoute]:
    routes = []
    for function in functions:
        trigger = function.get_trigger()
        if trigger.type != "httpTrigger":
            continue
        template = trigger.route or function.get_function_name()
        methods = frozenset(_name(method) for method in (trigger.methods or ["GET", "POST", "PUT", "DELETE",
                                                                              "PATCH", "HEAD", "OPTIONS"]))
        level = _name(trigger.auth_level or FUNCTION)
        handler = function.get_user_function()
        routes.append(HttpRoute(function.get_function_name(), template, compile_template(prefix, template),
                                methods, level, handler, inspect.iscoroutinefunction(handler)))
    # Literal segments beat parameters, as in ASP.NET routing: try templates with fewer parameters first.
    routes.sort(key=lambda route: (route.template.count("{"), -len(route.template)))
    return routes


def match(routes: list[HttpRoute], method: str, path: str):
    """(route, params) for a match; (None, allowed_methods) when the path exists with other methods."""
    allowed: set[str] = set()
    for route in routes:
        found = route.pattern.match(path)
        if not found:
            continue
        if method in route.methods:
            return route, {key: value for key, value in found.groupdict().items() if value is not None}
        allowed |= route.methods
    return None, allowed


def authorized(level: str, presented: str | None, function_key: str, admin_key: str) -> bool:
    if level == ANONYMOUS:
        return True
    if not presented:
        return False
    # Constant time: how long a comparison takes must not tell how much of a guessed key was right.
    given = presented.encode("utf-8", "surrogatepass")
    if level == ADMIN:
        return hmac.compare_digest(given, admin_key.encode())
    return hmac.compare_digest(given, function_key.encode()) | hmac.compare_digest(given, admin_key.encode())


def _name(value) -> str:
    return str(getattr(value, "value", value)).upper()

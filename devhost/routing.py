"""Azure Functions HTTP routing, rebuilt from the registered functions: route templates with parameters,
the route prefix from host.json, methods, and auth levels with function and admin keys."""
from __future__ import annotations

import hmac
import inspect
import re
from dataclasses import dataclass
from typing import Callable

from devhost.route_constraints import resolve
from devhost.route_template import Literal, Parameter, parse

ANONYMOUS, FUNCTION, ADMIN = "ANONYMOUS", "FUNCTION", "ADMIN"
ALL_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class HttpRoute:
    name: str
    template: str
    pattern: re.Pattern
    methods: frozenset[str]
    auth_level: str
    handler: Callable
    is_async: bool = False   # async functions run on the event loop, sync ones in the thread pool (as in Azure)
    parameters: tuple[tuple[str, str], ...] = ()   # (regex group, route parameter name as written)
    defaults: tuple[tuple[str, str], ...] = ()     # `{page=1}`: the value when the segment is absent
    checks: tuple[tuple[str, Callable[[str], bool]], ...] = ()   # inline constraints: no match when one fails

    def route_params(self, found: re.Match) -> dict[str, str] | None:
        """The route's parameters for a path its pattern matched; None when a constraint rejects a value."""
        params = dict(self.defaults)
        params.update({name: found.group(group) for group, name in self.parameters
                       if found.group(group) is not None})
        if all(check(params[name]) for name, check in self.checks if name in params):
            return params
        return None


def compile_template(prefix: str, template: str) -> tuple[re.Pattern, list[Parameter]]:
    """`users/{user_id}/orders/{order_id?}` -> a regex with one group per parameter (in template order), matched
    ignoring case as ASP.NET does; optional, defaulted and catch-all parameters may be absent at the end."""
    segments = parse("/".join(part for part in (prefix.strip("/"), template.strip("/")) if part))
    parameters = [part for parts in segments for part in parts if isinstance(part, Parameter)]
    groups = {id(part): f"p{number}" for number, part in enumerate(parameters)}
    may_be_absent = [len(parts) == 1 and isinstance(parts[0], Parameter)
                     and (parts[0].optional or parts[0].catch_all or parts[0].default is not None)
                     for parts in segments]
    first_absent = len(segments)   # a segment may be left out only when every later one may be too
    while first_absent and may_be_absent[first_absent - 1]:
        first_absent -= 1
    pattern = ""
    for number, parts in enumerate(segments):
        pattern += ("(?:/" if number >= first_absent else "/") + _segment_regex(parts, groups)
    pattern += ")?" * (len(segments) - first_absent)
    # \Z, not $: `$` also matches before a final newline, so `health%0A` would be served as `health`.
    return re.compile("^" + (pattern or "/") + r"/?\Z", re.IGNORECASE), parameters


def _segment_regex(parts, groups: dict[int, str]) -> str:
    # ASP.NET matches a segment of several parts from the right: in `{name}.{ext?}`, `ext` is what follows the
    # last '.', so there `name` is lazy and `ext` holds no '.'.
    has_optional = any(isinstance(part, Parameter) and part.optional for part in parts)
    out = []
    for position, part in enumerate(parts):
        if isinstance(part, Literal):
            if not part.separator:
                out.append(re.escape(part.text))
        elif part.catch_all:
            out.append(f"(?P<{groups[id(part)]}>.*)")
        elif part.optional and len(parts) > 1:   # the parser allows it only last, after a '.' separator
            out.append(f"(?:\\.(?P<{groups[id(part)]}>[^/.]+))?")
        else:
            out.append(f"(?P<{groups[id(part)]}>[^/]+{'?' if has_optional and len(parts) > 1 else ''})")
    return "".join(out)


def build_routes(functions, prefix: str) -> list[HttpRoute]:
    """The HTTP functions' routes; call it on functions `devhost.validation` accepted (it parses every template)."""
    routes = []
    for function in functions:
        trigger = function.get_trigger()
        if trigger.type != "httpTrigger":
            continue
        template = trigger.route or function.get_function_name()
        pattern, parameters = compile_template(prefix, template)
        groups = tuple((f"p{number}", part.name) for number, part in enumerate(parameters))
        defaults = tuple((part.name, part.default) for part in parameters if part.default is not None)
        checks = tuple((part.name, resolve(part.name, constraint, template))
                       for part in parameters for constraint in part.constraints)
        methods = frozenset(_name(method) for method in (trigger.methods or ALL_METHODS))
        level = _name(trigger.auth_level or FUNCTION)
        handler = function.get_user_function()
        routes.append(HttpRoute(function.get_function_name(), template, pattern, methods, level, handler,
                                inspect.iscoroutinefunction(handler), groups, defaults, checks))
    # Literal segments beat parameters, as in ASP.NET routing: try templates with fewer parameters first.
    routes.sort(key=lambda route: (route.template.count("{"), -len(route.template)))
    return routes


def match(routes: list[HttpRoute], method: str, path: str):
    """(route, params) for a match; (None, allowed_methods) when the path exists with other methods."""
    allowed: set[str] = set()
    for route in routes:
        found = route.pattern.match(path)
        params = route.route_params(found) if found else None
        if params is None:
            continue
        if method in route.methods:
            return route, params
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

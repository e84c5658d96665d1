"""The checks the Functions host and the Python worker make on a function app before they serve it, reproduced so
that an app Azure would refuse (in part or whole) does not start here. Read from azure-functions-host
(WorkerFunctionMetadataProvider.ValidateMetadata, Utility.ValidateName/ValidateBinding, ScriptHost.ValidateFunction,
ValidateHttpFunction, HttpRoutesConflict; WebScriptHostHttpRoutesManager), azure-webjobs-sdk-extensions
(HttpTriggerAttributeBindingProvider parses each route with ASP.NET's TemplateParser) and the Python worker
(functions.Registry: function parameters against bindings).

Azure loads the other functions when one is in error (that one is never loaded: every call to it is a 404), and it
fails the whole app for a worker indexing error or a route it cannot build. The local host is stricter on
purpose: any of them stops it, so the mistake shows up before deployment."""
from __future__ import annotations

import inspect
import json
import re

from devhost.route_constraints import resolve
from devhost.route_template import Parameter, RouteTemplateError, parse

# Utility.FunctionNameValidationRegex: ASCII letters in any case (the host's tests refuse "MáNUALtRIGGER");
# `host` is taken.
FUNCTION_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,127}$(?<!^host$)", re.IGNORECASE | re.ASCII)
# Utility.BindingNameValidationRegex since host 4.1038 (azure-functions-host PR #10764, snake case allowed).
BINDING_NAME = re.compile(r"^(?!.*__)([a-zA-Z_][a-zA-Z0-9_]{0,127}|\$return)$")
RESERVED_PREFIXES = ("admin", "runtime")   # the host's own routes: admin/host/status, runtime/webhooks, ...

BUILT_IN_ROUTES = "The specified route conflicts with one or more built in routes."
ROUTE_CONFLICT = "The route specified conflicts with the route defined by function '{0}'."
NOT_UNIQUE = "The function or proxy name '{0}' must be unique within the function app."
INVALID_NAME = "'{0}' is not a valid function name."
INVALID_BINDING = "The binding name {0} is invalid. Please assign a valid name to the binding."
RETURN_DIRECTION = "$return bindings must specify a direction of 'out'."
DUPLICATE_BINDING = "Multiple bindings with name '{0}' discovered. Binding names must be unique."
NO_TRIGGER = "No trigger binding specified. A function must have a trigger input binding."
INDEXING = ("Microsoft.Azure.WebJobs.Host: Error indexing method 'Functions.{0}'. Microsoft.AspNetCore.Routing: {1} "
            "(Parameter 'routeTemplate').")
WORKER_FAILED = "Worker failed to index functions"   # the host's log line (GrpcWorkerChannel), then the error
ROUTE_CREATION = "An error occurred while creating the route with name '{0}' and template '{1}'. {2}"


class FunctionAppError(Exception):
    """The app breaks one of the host's rules: `lines` are the messages, one per line, as the host logs them."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def index_functions(app, route_prefix: str = "api") -> list:
    """What the worker and the host do before serving: `app.get_functions()` (once: a second call raises), then
    every check below. Returns the functions, or raises FunctionAppError with every message."""
    try:
        functions = app.get_functions()
    except ValueError as error:   # the library's own checks: duplicate names, no trigger
        raise FunctionAppError([f"{WORKER_FAILED}: {error}"]) from None
    lines = [f"{WORKER_FAILED}: {message}" for message in check_worker(functions)]
    if not lines:
        in_error = check_host(functions)
        lines = [f"The '{name}' function is in error: {message}" for name, message in in_error]
        failed = {name for name, _ in in_error}   # not loaded, so no route is built for them
        lines += check_routes([item for item in functions if item.get_function_name() not in failed], route_prefix)
    if lines:
        raise FunctionAppError(lines)
    return functions


def check_worker(functions) -> list[str]:
    """The Python worker's load check: a function parameter that is no binding (a route parameter declared as an
    argument, say) fails indexing of the whole app."""
    for function in functions:
        name = function.get_function_name()
        params = set(inspect.signature(function.get_user_function()).parameters)
        bound = {binding.name for binding in function.get_bindings() if binding.name != "$return"}
        if "context" not in bound:
            params.discard("context")   # a func.Context parameter needs no binding
        if params - bound:
            return [f"cannot load the {name} function: the following parameters are declared in Python but not in "
                    f"function.json: {params - bound!r}"]
        if bound - params:
            return [f"cannot load the {name} function: the following parameters are declared in function.json but "
                    f"not in Python: {bound - params!r}"]
    return []


def check_host(functions) -> list[tuple[str, str]]:
    """(function name, message) for each function the host would put in error and not load."""
    errors, http_functions = [], {}
    for function in functions:
        name = function.get_function_name()
        message = _metadata_error(name, json.loads(function.get_function_json())["bindings"])
        if message is None and function.get_trigger().type == "httpTrigger":
            message = _http_error(name, function.get_trigger(), http_functions)
        if message is not None:
            errors.append((name, message))
    return errors


def _metadata_error(name: str, bindings: list[dict]) -> str | None:
    if not FUNCTION_NAME.match(name):
        return INVALID_NAME.format(name)
    seen = set()
    for binding in bindings:
        binding_name = binding.get("name")
        if binding_name is None or not BINDING_NAME.match(binding_name):
            return INVALID_BINDING.format(binding_name)
        if binding_name == "$return" and str(binding.get("direction", "")).lower() != "out":
            return RETURN_DIRECTION
        if binding_name.lower() in seen:
            return DUPLICATE_BINDING.format(binding_name)
        seen.add(binding_name.lower())
    if not any(str(binding.get("type", "")).lower().endswith("trigger") for binding in bindings):
        return NO_TRIGGER
    return None


def _http_error(name: str, trigger, http_functions: dict) -> str | None:
    """ScriptHost.ValidateFunction for an HTTP function, then the route parse of its trigger binding."""
    route = trigger.route if trigger.route and trigger.route.strip() else name
    if route.strip("/").lower().startswith(RESERVED_PREFIXES):
        return BUILT_IN_ROUTES
    methods = {str(getattr(method, "value", method)) for method in trigger.methods or ()}
    for other, (other_route, other_methods) in http_functions.items():
        same_route = route.strip("/").lower() == other_route.strip("/").lower()
        if same_route and (not methods or not other_methods or methods & other_methods):   # none = every method
            return ROUTE_CONFLICT.format(other)
    if name in http_functions:
        return NOT_UNIQUE.format(name)
    http_functions[name] = (route, methods)
    try:
        parse(route)
    except RouteTemplateError as error:
        return INDEXING.format(name, error.message)
    return None


def check_routes(functions, route_prefix: str) -> list[str]:
    """The host builds one ASP.NET route per HTTP function from `routePrefix/route`; one it cannot build (a route
    with a leading '/' under a prefix, an unknown inline constraint) fails the host's start, not one function."""
    lines = []
    for function in functions:
        trigger = function.get_trigger()
        if trigger.type != "httpTrigger":
            continue
        name = function.get_function_name()
        route = trigger.route if trigger.route and trigger.route.strip() else name
        template = f"{route_prefix}/{route}" if route_prefix else route
        try:
            parameters = [part for parts in parse(template) for part in parts if isinstance(part, Parameter)]
            for parameter in parameters:
                for constraint in parameter.constraints:
                    resolve(parameter.name, constraint, template)
        except (RouteTemplateError, ValueError) as error:
            detail = error.message if isinstance(error, RouteTemplateError) else str(error)
            lines.append("A host error has occurred during startup: "
                         + ROUTE_CREATION.format(name, template, detail))
    return lines

"""Matching requests as ASP.NET routing in the Functions host does: literals ignore case, optional, defaulted and
catch-all parameters may be absent at the end, and an inline constraint that rejects a value means no match."""
import azure.functions as func
import pytest

from devhost.routing import build_routes, match
from devhost.validation import index_functions


def routes_for(*templates):
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    for number, template in enumerate(templates):
        def handler(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("ok")
        handler.__name__ = f"f{number}"
        app.route(route=template, methods=["GET"])(handler)
    return build_routes(index_functions(app), "api")


def params(routes, path):
    route, found = match(routes, "GET", path)
    return (route.name, found) if route else None


def test_literals_ignore_case_and_a_trailing_slash():
    routes = routes_for("users/{user_id}/orders")
    assert params(routes, "/API/Users/u1/ORDERS/") == ("f0", {"user_id": "u1"})
    assert params(routes, "/api/users/u1") is None


def test_optional_defaulted_and_catch_all_parameters_at_the_end():
    routes = routes_for("a/{x?}", "b/{page=1}", "c/{*rest}", "d/{name}.{ext?}")
    assert params(routes, "/api/a") == ("f0", {}) and params(routes, "/api/a/7") == ("f0", {"x": "7"})
    assert params(routes, "/api/b") == ("f1", {"page": "1"}) and params(routes, "/api/b/3") == ("f1", {"page": "3"})
    assert params(routes, "/api/c/x/y/z") == ("f2", {"rest": "x/y/z"})
    assert params(routes, "/api/d/report.csv") == ("f3", {"name": "report", "ext": "csv"})
    assert params(routes, "/api/d/report") == ("f3", {"name": "report"})


def test_an_optional_segment_before_a_required_one_must_be_there():
    routes = routes_for("a/{x?}/c")
    assert params(routes, "/api/a/1/c") == ("f0", {"x": "1"})
    assert params(routes, "/api/a/c") is None


@pytest.mark.parametrize("template, good, bad", [
    ("n/{id:int}", "/api/n/-42", "/api/n/4x"),
    ("n/{id:int}", "/api/n/2147483647", "/api/n/2147483648"),
    ("n/{id:long:min(10)}", "/api/n/10", "/api/n/9"),
    ("n/{id:range(1,5)}", "/api/n/5", "/api/n/6"),
    ("n/{s:alpha:maxlength(3)}", "/api/n/abc", "/api/n/abcd"),
    ("n/{s:length(2,3)}", "/api/n/ab", "/api/n/a"),
    ("n/{g:guid}", "/api/n/0f8fad5b-d9cb-469f-a165-70867728950e", "/api/n/0f8fad5b"),
    ("n/{b:bool}", "/api/n/True", "/api/n/yes"),
    (r"n/{zip:regex(^\d{{5}}$)}", "/api/n/12345", "/api/n/1234"),
])
def test_inline_constraints_decide_the_match(template, good, bad):
    routes = routes_for(template)
    assert params(routes, good) is not None
    assert params(routes, bad) is None

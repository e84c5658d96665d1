"""The shipped function app plus two optional routes the storefront looks for: a trending list that is anonymous
(reachable without a key, as the pages call it) and a bought-together list that needs the function key (so the
pages must leave it out). Served with `manage.py serve --app tests.browser.feature_app:app`."""
import azure.functions as func

from functions.http import handles_errors, int_param, json_response
from shared import bootstrap

extra = func.Blueprint()


@extra.function_name("test_trending")
@extra.route(route="recommendations/trending", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@handles_errors
def test_trending(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(bootstrap.recommendation_service().popular(k=int_param(req, "k", 10, 1, 100)))


@extra.function_name("test_bought_together")
@extra.route(route="products/{product_id}/bought-together", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handles_errors
def test_bought_together(req: func.HttpRequest) -> func.HttpResponse:
    return json_response({"items": []})


def app() -> func.FunctionApp:
    from function_app import app as shipped
    shipped.register_functions(extra)
    return shipped

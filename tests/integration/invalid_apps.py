"""Small function apps that break one of the Functions host's rules each, for `manage.py serve --app
tests.integration.invalid_apps:<factory>` (a factory, so each serve builds its own app)."""
import azure.functions as func


def _app_with(name: str, route: str | None, methods=("GET",), *more) -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    for number, (function_name, function_route, function_methods) in enumerate(((name, route, methods), *more)):
        def handler(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("ok")
        handler.__name__ = f"handler{number}"
        app.function_name(function_name)(app.route(route=function_route, methods=list(function_methods))(handler))
    # The local host answers /api/health; an app it refuses must not get that far.
    app.function_name("health")(app.route(route="health", methods=["GET"])(lambda req: func.HttpResponse("ok")))
    return app


def admin_route():
    return _app_with("start_run", "admin/training-runs")


def runtime_route():
    return _app_with("status", "runtime/status")


def administration_route():
    return _app_with("reports", "Administration/reports")


def duplicate_route():
    return _app_with("list_orders", "orders", ("GET",), ("list_orders_again", "Orders/", ("GET", "HEAD")))


def invalid_name():
    return _app_with("get-order!", "orders/{order_id}")


def unparseable_route():
    return _app_with("get_order", "orders/{order_id")


def route_parameter_argument():
    app = _app_with("health_too", "status")

    @app.route(route="users/{user_id}", methods=["GET"])
    def get_user(req: func.HttpRequest, user_id: str) -> func.HttpResponse:
        return func.HttpResponse(user_id)

    return app

"""The Functions host's and the Python worker's checks on a function app, one rule at a time, each on a small
FunctionApp (get_functions() is called once per app, as the worker does)."""
import azure.functions as func
import pytest

from devhost import validation as rules
from devhost.validation import FunctionAppError, index_functions


def http_app(*routes):
    """One HTTP function per (name, route, methods)."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    for name, route, methods in routes:
        def handler(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("ok")
        handler.__name__ = f"handler_{len(app._function_builders)}"
        app.function_name(name)(app.route(route=route, methods=methods)(handler))
    return app


def errors(app, prefix="api"):
    with pytest.raises(FunctionAppError) as caught:
        index_functions(app, prefix)
    return caught.value.lines


def in_error(name, message):
    return f"The '{name}' function is in error: {message}"


@pytest.mark.parametrize("route", ["admin/training-runs", "runtime/status", "administration", "Admin/x",
                                   "RUNTIME", "/admin/x", "adminx/y"])
def test_routes_in_the_host_s_own_space_are_refused(route):
    assert errors(http_app(("ops", route, ["GET"]))) == [in_error("ops", rules.BUILT_IN_ROUTES)]


def test_a_route_defaults_to_the_function_name_which_then_counts_too():
    assert errors(http_app(("administer", None, ["GET"]))) == [in_error("administer", rules.BUILT_IN_ROUTES)]


def test_routes_that_only_contain_the_words_are_fine():
    functions = index_functions(http_app(("ops", "manage/admin", ["GET"]), ("rt", "x/runtime", ["GET"])))
    assert [function.get_function_name() for function in functions] == ["ops", "rt"]


def test_same_route_and_an_overlapping_method_conflict_ignoring_case_and_slashes():
    app = http_app(("first", "orders", ["GET", "POST"]), ("second", "/Orders/", ["POST"]))
    assert errors(app) == [in_error("second", rules.ROUTE_CONFLICT.format("first"))]


def test_a_function_with_every_method_conflicts_with_any_on_its_route():
    app = http_app(("first", "orders", ["GET"]), ("second", "orders", None))
    assert errors(app) == [in_error("second", rules.ROUTE_CONFLICT.format("first"))]


def test_same_route_with_other_methods_or_another_template_is_no_conflict():
    # As in the host: only the same template text counts, `{id}` and `{key}` are different templates.
    app = http_app(("read", "orders/{id}", ["GET"]), ("write", "orders/{id}", ["PUT"]),
                   ("other", "orders/{key}", ["GET"]))
    assert len(index_functions(app)) == 3


@pytest.mark.parametrize("name", ["1st", "get-order!", "host", "HOST", "a" * 129, "café", "with space"])
def test_invalid_function_names_are_refused(name):
    assert errors(http_app((name, "things", ["GET"]))) == [in_error(name, rules.INVALID_NAME.format(name))]


@pytest.mark.parametrize("name", ["a", "Get_Order-2", "hostname", "a" * 128])
def test_valid_function_names(name):
    assert len(index_functions(http_app((name, "things", ["GET"])))) == 1


def test_binding_names_follow_the_host_s_rule():
    app = func.FunctionApp()

    @app.function_name("tick")
    @app.timer_trigger(arg_name="my__timer", schedule="0 */5 * * * *")
    def tick(my__timer) -> None:
        pass

    assert errors(app) == [in_error("tick", rules.INVALID_BINDING.format("my__timer"))]


def test_snake_case_binding_names_are_accepted():
    app = func.FunctionApp()

    @app.function_name("tick")
    @app.timer_trigger(arg_name="my_timer", schedule="0 */5 * * * *")
    def tick(my_timer) -> None:
        pass

    assert len(index_functions(app)) == 1


def test_a_template_the_router_cannot_parse_puts_the_function_in_error():
    lines = errors(http_app(("broken", "users/{user_id/orders", ["GET"])))
    assert lines == [in_error("broken", rules.INDEXING.format(
        "broken", "There is an incomplete parameter in the route template. Check that each '{' character has a "
                  "matching '}' character."))]


def test_a_leading_slash_under_the_route_prefix_is_a_route_the_host_cannot_build():
    lines = errors(http_app(("slashed", "/orders", ["GET"])))
    assert len(lines) == 1 and "'slashed'" in lines[0] and "'api//orders'" in lines[0]
    assert "cannot appear consecutively" in lines[0]
    assert len(index_functions(http_app(("slashed", "/orders", ["GET"])), "")) == 1


def test_an_unknown_inline_constraint_is_a_route_the_host_cannot_build():
    lines = errors(http_app(("typed", "items/{id:integer}", ["GET"])))
    assert len(lines) == 1 and "'typed'" in lines[0]
    assert "The constraint entry 'id' - 'integer' on the route 'api/items/{id:integer}' could not be resolved" \
        in lines[0]
    assert len(index_functions(http_app(("typed", "items/{id:int}/{name:minlength(2)}", ["GET"])))) == 1


def test_a_route_parameter_declared_as_an_argument_fails_indexing_of_the_whole_app():
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="users/{user_id}", methods=["GET"])
    def get_user(req: func.HttpRequest, user_id: str) -> func.HttpResponse:
        return func.HttpResponse(user_id)

    assert errors(app) == ["Worker failed to index functions: cannot load the get_user function: the following "
                           "parameters are declared in Python but not in function.json: {'user_id'}"]


def test_the_library_s_own_refusal_is_reported_without_a_traceback():
    app = http_app(("twice", "a", ["GET"]), ("twice", "b", ["GET"]))
    (line,) = errors(app)
    assert line.startswith("Worker failed to index functions: Function twice does not have a unique function name")


def test_every_function_in_error_is_reported():
    app = http_app(("ok", "orders", ["GET"]), ("bad1", "admin", ["GET"]), ("bad-2!", "x", ["GET"]))
    assert errors(app) == [in_error("bad1", rules.BUILT_IN_ROUTES),
                           in_error("bad-2!", rules.INVALID_NAME.format("bad-2!"))]


def test_an_inline_constraint_with_the_wrong_argument_count_is_a_route_the_host_cannot_build():
    (line,) = errors(http_app(("typed", "items/{id:min}", ["GET"])))
    assert "'typed'" in line and ("Could not find a constructor for constraint type 'MinRouteConstraint' with the "
                                  "following number of parameters: 0.") in line
    (line,) = errors(http_app(("typed", "items/{id:length(a)}", ["GET"])))
    assert "The input string 'a' was not in a correct format." in line

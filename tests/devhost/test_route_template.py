"""Route templates: what ASP.NET Core routing (and so the Functions host) refuses is refused here with its message,
and what it accepts parses to the parts it would see."""
import pytest

from devhost import route_template as rt
from devhost.route_template import Literal, Parameter, RouteTemplateError, parse


@pytest.mark.parametrize("template, message", [
    ("users//orders", rt.CONSECUTIVE_SEPARATORS),
    ("//users", rt.CONSECUTIVE_SEPARATORS),
    ("users/{user_id", rt.MISMATCHED),
    ("users/{", rt.MISMATCHED),
    ("users/user_id}", rt.MISMATCHED),
    ("users/{a{b}", rt.UNESCAPED_BRACE),
    ("users/{}", rt.INVALID_NAME.format("")),
    ("users/{a/b}", rt.INVALID_NAME.format("a/b")),
    ("users/{id}/orders/{ID}", rt.REPEATED.format("ID")),
    ("files/{*path}/meta", rt.CATCH_ALL_LAST),
    ("files/x{*path}", rt.CATCH_ALL_MULTI),
    ("files/{*path?}", rt.CATCH_ALL_OPTIONAL),
    ("{a}{b}", rt.CONSECUTIVE_PARAMETERS),
    ("page/{n?=1}", rt.INVALID_NAME.format("n?")),
    ("what?", rt.INVALID_LITERAL.format("what?")),
    ("~users", rt.TILDE),
    ("x/{a?}.json", rt.OPTIONAL_LAST.format("{a?}.json", "a", ".json")),
    ("x/v{a?}", rt.OPTIONAL_AFTER_PERIOD.format("v{a?}", "a", "v")),
])
def test_templates_the_host_cannot_parse(template, message):
    with pytest.raises(RouteTemplateError) as caught:
        parse(template)
    assert caught.value.message == message


def test_parameters_constraints_defaults_and_escapes():
    assert parse("users/{user_id}/orders") == [[Literal("users")], [Parameter("user_id")], [Literal("orders")]]
    assert parse("items/{id:int:min(1)}")[1] == [Parameter("id", constraints=("int", "min(1)"))]
    assert parse("page/{n:int=1}")[1] == [Parameter("n", default="1", constraints=("int",))]
    assert parse("files/{*path}")[1] == [Parameter("path", catch_all=True)]
    assert parse("files/{**path}")[1] == [Parameter("path", catch_all=True)]
    assert parse("f/{name}.{ext?}")[1] == [Parameter("name"), Literal(".", separator=True),
                                           Parameter("ext", optional=True)]
    # Braces are escaped by doubling, in literals and inside a constraint's argument.
    assert parse("{{literal}}/x") == [[Literal("{literal}")], [Literal("x")]]
    assert parse(r"z/{zip:regex(^\d{{5}}$)}")[1] == [Parameter("zip", constraints=(r"regex(^\d{5}$)",))]
    assert parse("a/{p:regex(x:y)}")[1] == [Parameter("p", constraints=("regex(x:y)",))]


def test_one_leading_slash_a_trailing_slash_and_the_empty_template_are_accepted():
    assert parse("/orders/") == parse("orders") == [[Literal("orders")]]
    assert parse("~/orders") == [[Literal("orders")]]
    assert parse("") == []

"""Route templates parsed as ASP.NET Core routing parses them: the Functions host hands each HTTP function's route
to `TemplateParser.Parse` (Microsoft.AspNetCore.Routing), so a template it refuses must fail here too, with its
message. Written from the rules of aspnetcore's RoutePatternParser and RouteParameterParser (escaped braces,
one parameter name once per template ignoring case, catch-all only last, optional only at a segment's end)."""
from __future__ import annotations

from dataclasses import dataclass

from devhost.route_parameter import Parameter, parse_parameter

MISMATCHED = ("There is an incomplete parameter in the route template. Check that each '{' character has a "
              "matching '}' character.")
UNESCAPED_BRACE = "In a route parameter, '{' and '}' must be escaped with '{{' and '}}'."
CONSECUTIVE_SEPARATORS = ("The route template separator character '/' cannot appear consecutively. It must be "
                          "separated by either a parameter or a literal value.")
CONSECUTIVE_PARAMETERS = ("A path segment cannot contain two consecutive parameters. They must be separated by a "
                          "'/' or by a literal string.")
CATCH_ALL_OPTIONAL = "A catch-all parameter cannot be marked optional."
CATCH_ALL_LAST = "A catch-all parameter can only appear as the last segment of the route template."
CATCH_ALL_MULTI = ("A path segment that contains more than one section, such as a literal section or a parameter, "
                   "cannot contain a catch-all parameter.")
OPTIONAL_DEFAULT = "An optional parameter cannot have default value."
TILDE = "The route template cannot start with a '~' character unless followed by a '/'."
INVALID_LITERAL = "The literal section '{0}' is invalid. Literal sections cannot contain the '?' character."
INVALID_NAME = ("The route parameter name '{0}' is invalid. Route parameter names must be non-empty and cannot "
                "contain these characters: '{{', '}}', '/'. The '?' character marks a parameter as optional, and can "
                "occur only at the end of the parameter. The '*' character marks a parameter as catch-all, and can "
                "occur only at the start of the parameter.")
REPEATED = "The route parameter name '{0}' appears more than one time in the route template."
OPTIONAL_LAST = ("An optional parameter must be at the end of the segment. In the segment '{0}', optional parameter "
                 "'{1}' is followed by '{2}'.")
OPTIONAL_AFTER_PERIOD = ("In the segment '{0}', the optional parameter '{1}' is preceded by an invalid segment "
                         "'{2}'. Only a period (.) can precede an optional parameter.")


class RouteTemplateError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Literal:
    text: str
    separator: bool = False   # the '.' before an optional parameter: it goes when the parameter is absent

    def debug(self) -> str:
        return self.text


Segment = list  # list[Literal | Parameter]


def parse(template: str) -> list[Segment]:
    """The template's segments; RouteTemplateError with ASP.NET's message for one it would refuse."""
    text = _trim_prefix(template)
    segments: list[Segment] = []
    names: set[str] = set()
    index = 0
    while index < len(text):
        if text[index] == "/":   # a segment consumes its separator: another one means an empty segment
            raise RouteTemplateError(CONSECUTIVE_SEPARATORS)
        parts, index = _segment(text, index, names)
        segments.append(parts)
        index += 1
    for number, parts in enumerate(segments):
        for position, part in enumerate(parts):
            if isinstance(part, Parameter) and part.catch_all and (
                    number != len(segments) - 1 or position != len(parts) - 1):
                raise RouteTemplateError(CATCH_ALL_LAST)
    return segments


def _trim_prefix(template: str) -> str:
    if template.startswith("~/"):
        return template[2:]
    if template.startswith("/"):
        return template[1:]
    if template.startswith("~"):
        raise RouteTemplateError(TILDE)
    return template


def _segment(text: str, index: int, names: set[str]) -> tuple[Segment, int]:
    parts: Segment = []
    while True:
        if text[index] == "{" and not text.startswith("{{", index):
            if index + 1 == len(text):
                raise RouteTemplateError(MISMATCHED)
            part, index = _parameter(text, index, names)
        else:
            part, index = _literal(text, index)
        parts.append(part)
        if index >= len(text) or text[index] == "/":
            return _checked_segment(parts), index


def _literal(text: str, index: int) -> tuple[Literal, int]:
    start = index
    while index < len(text) and text[index] != "/":
        char = text[index]
        if char in "{}":
            if index + 1 == len(text):
                raise RouteTemplateError(MISMATCHED)
            if text[index + 1] == char:   # '{{' or '}}': an escaped brace
                index += 2
                continue
            if char == "}":
                raise RouteTemplateError(MISMATCHED)
            break   # a parameter starts
        index += 1
    decoded = text[start:index].replace("}}", "}").replace("{{", "{")
    if "?" in decoded:
        raise RouteTemplateError(INVALID_LITERAL.format(decoded))
    return Literal(decoded), index


def _parameter(text: str, index: int, names: set[str]) -> tuple[Parameter, int]:
    start, index = index, index + 1
    while True:
        char = text[index]
        if char == "{":
            index += 1
            if index == len(text):
                raise RouteTemplateError(MISMATCHED)
            if text[index] != "{":
                raise RouteTemplateError(UNESCAPED_BRACE)
        elif char == "}":
            index += 1
            if index == len(text) or text[index] != "}":
                break   # the parameter ends here ('}}' would be an escaped brace inside it)
        index += 1
        if index == len(text):
            raise RouteTemplateError(MISMATCHED)
    raw = text[start:index]
    if raw == "{}":
        raise RouteTemplateError(INVALID_NAME.format(""))
    decoded = raw[1:-1].replace("}}", "}").replace("{{", "{")
    parameter = parse_parameter(decoded)
    if decoded.startswith("*") and decoded.endswith("?"):
        raise RouteTemplateError(CATCH_ALL_OPTIONAL)
    if parameter.optional and parameter.default is not None:
        raise RouteTemplateError(OPTIONAL_DEFAULT)
    if not parameter.name or any(char in "/{}?*" for char in parameter.name):
        raise RouteTemplateError(INVALID_NAME.format(parameter.name))
    if parameter.name.lower() in names:   # names compare ignoring case
        raise RouteTemplateError(REPEATED.format(parameter.name))
    names.add(parameter.name.lower())
    return parameter, index


def _checked_segment(parts: Segment) -> Segment:
    if len(parts) > 1 and any(isinstance(part, Parameter) and part.catch_all for part in parts):
        raise RouteTemplateError(CATCH_ALL_MULTI)
    for position, part in enumerate(parts):
        if not (isinstance(part, Parameter) and part.optional and len(parts) > 1):
            continue
        segment = "".join(item.debug() for item in parts)
        if position != len(parts) - 1:
            raise RouteTemplateError(OPTIONAL_LAST.format(segment, part.name, parts[position + 1].debug()))
        previous = parts[position - 1]
        if not isinstance(previous, Literal) or previous.text != ".":
            raise RouteTemplateError(OPTIONAL_AFTER_PERIOD.format(segment, part.name, previous.debug()))
        parts[position - 1] = Literal(".", separator=True)
    for previous, part in zip(parts, parts[1:]):
        if isinstance(previous, Parameter) and isinstance(part, Parameter):
            raise RouteTemplateError(CONSECUTIVE_PARAMETERS)
    return parts

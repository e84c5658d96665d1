"""Inline route constraints (`{id:int}`, `{name:minlength(3)}`), resolved and checked as ASP.NET Core routing does:
the host builds each function's route with ASP.NET's default constraint map, so an unknown constraint or a wrong
argument count fails at start-up, and a value a constraint rejects is a 404 (the route does not match)."""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Callable

CANNOT_RESOLVE = ("The constraint entry '{0}' - '{1}' on the route '{2}' could not be resolved by the constraint "
                  "resolver of type 'DefaultInlineConstraintResolver'.")
NO_CONSTRUCTOR = "Could not find a constructor for constraint type '{0}' with the following number of parameters: {1}."
NOT_A_NUMBER = "The input string '{0}' was not in a correct format."

Check = Callable[[str], bool]
_INT32, _INT64 = 2 ** 31, 2 ** 63


def _integer(bits: int) -> Check:
    def check(value: str) -> bool:
        text = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            return False
        return -bits <= int(text) < bits
    return check


def _number(value: str) -> bool:
    text = value.strip().replace(",", "")
    if not re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", text):
        return False
    return True


def _guid(value: str) -> bool:
    text = value.strip()
    if not re.fullmatch(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
                        r"|\{[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}"
                        r"|\([0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\)", text):
        return False
    return uuid.UUID(text.strip("{}()")) is not None


def _datetime(value: str) -> bool:
    """Approximates DateTime.TryParse (invariant culture) with ISO 8601 and the US date order."""
    text = value.strip()
    for parse in (datetime.fromisoformat, lambda item: datetime.strptime(item, "%m/%d/%Y")):
        try:
            parse(text)
            return True
        except ValueError:
            continue
    return False


def _is_file(value: str) -> bool:
    last = value.rsplit("/", 1)[-1]
    dot = last.rfind(".")
    return 0 <= dot < len(last) - 1


def _long(argument: str) -> int:
    text = argument.strip()
    if not re.fullmatch(r"[+-]?[0-9]+", text) or not -_INT64 <= int(text) < _INT64:
        raise ValueError(NOT_A_NUMBER.format(argument))
    return int(text)


# key -> (the .NET type's name, {argument count: build(arguments) -> check})
_MAP: dict[str, tuple[str, dict[int, Callable[..., Check]]]] = {
    "int": ("IntRouteConstraint", {0: lambda: _integer(_INT32)}),
    "long": ("LongRouteConstraint", {0: lambda: _integer(_INT64)}),
    "bool": ("BoolRouteConstraint", {0: lambda: lambda v: v.strip().lower() in ("true", "false")}),
    "datetime": ("DateTimeRouteConstraint", {0: lambda: _datetime}),
    "decimal": ("DecimalRouteConstraint", {0: lambda: _number}),
    "double": ("DoubleRouteConstraint", {0: lambda: _number}),
    "float": ("FloatRouteConstraint", {0: lambda: _number}),
    "guid": ("GuidRouteConstraint", {0: lambda: _guid}),
    "alpha": ("AlphaRouteConstraint", {0: lambda: lambda v: re.fullmatch(r"[a-zA-Z]*", v) is not None}),
    "required": ("RequiredRouteConstraint", {0: lambda: lambda v: v != ""}),
    "file": ("FileNameRouteConstraint", {0: lambda: _is_file}),
    "nonfile": ("NonFileNameRouteConstraint", {0: lambda: lambda v: not _is_file(v)}),
    "minlength": ("MinLengthRouteConstraint", {1: lambda n: lambda v: len(v) >= _long(n)}),
    "maxlength": ("MaxLengthRouteConstraint", {1: lambda n: lambda v: len(v) <= _long(n)}),
    "length": ("LengthRouteConstraint", {1: lambda n: lambda v: len(v) == _long(n),
                                         2: lambda a, b: lambda v: _long(a) <= len(v) <= _long(b)}),
    "min": ("MinRouteConstraint", {1: lambda n: lambda v: _integer(_INT64)(v) and int(v) >= _long(n)}),
    "max": ("MaxRouteConstraint", {1: lambda n: lambda v: _integer(_INT64)(v) and int(v) <= _long(n)}),
    "range": ("RangeRouteConstraint",
              {2: lambda a, b: lambda v: _integer(_INT64)(v) and _long(a) <= int(v) <= _long(b)}),
    # .NET matches the pattern anywhere in the value, ignoring case; anchor it with ^...$ in the template.
    "regex": ("RegexInlineRouteConstraint", {1: lambda p: lambda v: re.search(p, v, re.IGNORECASE) is not None}),
}


def resolve(parameter: str, constraint: str, template: str) -> Check:
    """A check for one inline constraint; ValueError with ASP.NET's message when the host could not build it."""
    key, arguments = constraint, None
    opening = constraint.find("(")
    if opening >= 0 and constraint.endswith(")"):
        key, arguments = constraint[:opening], constraint[opening + 1:-1]
    entry = _MAP.get(key.lower())
    if entry is None:
        raise ValueError(CANNOT_RESOLVE.format(parameter, constraint, template))
    type_name, builders = entry
    if arguments is None:
        values = []
    elif key.lower() == "regex":   # the whole text is the one pattern, commas included
        values = [arguments]
    else:
        values = [item.strip() for item in arguments.split(",")]
    if len(values) not in builders:
        raise ValueError(NO_CONSTRUCTOR.format(type_name, len(values)))
    for value in values if key.lower() != "regex" else ():
        _long(value)   # the numeric arguments must convert, as Convert.ChangeType would demand
    if key.lower() == "regex":
        try:
            re.compile(values[0])
        except re.error as error:
            raise ValueError(f"Invalid pattern '{values[0]}': {error}.") from None
    return builders[len(values)](*values)

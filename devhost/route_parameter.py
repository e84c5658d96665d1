"""The inside of one route parameter, `{...}`, split as ASP.NET Core's RouteParameterParser splits it: `*` or `**`
(catch-all), the name, inline constraints `:name` or `:name(arguments)`, a default `=value`, and `?` (optional).
It never fails: `devhost.route_template` then refuses what ASP.NET refuses (an empty name, `*` with `?`, ...)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Parameter:
    name: str
    catch_all: bool = False
    optional: bool = False
    default: str | None = None
    constraints: tuple[str, ...] = ()

    def debug(self) -> str:
        star = "*" if self.catch_all else ""
        policies = "".join(f":{item}" for item in self.constraints)
        default = "" if self.default is None else f"={self.default}"
        return f"{{{star}{self.name}{policies}{default}{'?' if self.optional else ''}}}"



def parse_parameter(text: str) -> Parameter:
    """The inside of `{...}`: `*` or `**` (catch-all), the name, `:constraint(args)`..., `=default`, `?`."""
    if not text:
        return Parameter("")
    start, end = 0, len(text) - 1
    catch_all = text.startswith("*")
    if catch_all:
        start = 2 if text.startswith("**") else 1
    optional = text[end] == "?"
    if optional:
        end -= 1
        catch_all = False   # ASP.NET's kind is Optional then; the caller refuses '*...?' itself
    index, name = start, ""
    while index <= end:
        if text[index] in ":=" and index != start:   # a name may start with ':' or '='
            name = text[start:index]
            index -= 1
            break
        if index == end:
            name = text[start:index + 1]
        index += 1
    constraints, index = _constraints(text, index, end)
    default = text[index + 1:end + 1] if index <= end and text[index] == "=" else None
    return Parameter(name, catch_all, optional, default, tuple(constraints))


def _constraints(text: str, index: int, end: int) -> tuple[list[str], int]:
    """ASP.NET's small state machine: `:name`, `:name(args)` (a ')' ends args only before ':', '=' or the end)."""
    found: list[str] = []
    state, start = "start", index
    while True:
        char = text[index] if index <= end else None
        if state == "start":
            if char is None:
                state = "end"
            elif char == ":":
                state, start = "name", index + 1
            elif char == "(":
                state = "args"
            elif char == "=":
                state, index = "end", index - 1
        elif state == "args":
            if char is None:
                state = "end"
                found.append(text[start:index])
            elif char == ")":
                following = text[index + 1] if index + 1 <= end else None
                if following in (None, ":", "="):
                    found.append(text[start:index + 1])
                    state = "start" if following == ":" else "end"
                    start = index + 1
            elif char in ":=":
                closing = text.find(")", index + 1)
                if closing == -1:
                    found.append(text[start:index])
                    if char == ":":
                        state, start = "name", index + 1
                    else:
                        state, index = "end", index - 1
                else:
                    index = closing
        else:   # a constraint's name
            if char in (None, ":", "=") and text[start:index]:
                found.append(text[start:index])
            if char is None:
                state = "end"
            elif char == ":":
                start = index + 1
            elif char == "(":
                state = "args"
            elif char == "=":
                state, index = "end", index - 1
        index += 1
        if state == "end":
            return found, index

"""Schemathesis hooks for tests/integration/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS): a check
that no response body carries a Python stack trace or the name of a Python exception."""
import builtins
import os
import re

import schemathesis

_EXCEPTIONS = sorted(name for name, value in vars(builtins).items()
                     if isinstance(value, type) and issubclass(value, BaseException) and name.endswith(("Error",
                                                                                                        "Exception")))
_TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|"
                    r"\b(?:\w+\.)*(?:" + "|".join(_EXCEPTIONS) + r")\b")


def _request_text(case) -> str:
    """What the request itself said: an id it sent may come back in a message, and that is not a leak."""
    parts = [case.path_parameters, case.query, case.headers, case.body]
    return " ".join(repr(part) for part in parts if part is not None)


@schemathesis.check
def no_stack_trace(ctx, response, case):
    """A body (error or not) never shows a stack trace or an exception's class: those belong in the log."""
    marker = os.environ.get("NO_STACK_TRACE_MARKER")
    if marker and not os.path.exists(marker):   # lets the test see that this check really ran
        open(marker, "w").close()
    text = response.content.decode("utf-8", errors="replace")
    sent = _request_text(case)
    for found in _TRACE.finditer(text):
        if found.group(0) not in sent:
            raise AssertionError(f"the body shows a stack trace or exception text: {found.group(0)!r} in "
                                 f"{text[:300]!r}")

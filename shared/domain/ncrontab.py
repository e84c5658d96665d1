"""NCRONTAB schedules as Azure Functions timer triggers use them: six fields,
`second minute hour day month day-of-week`, with *, */n, a-b, a-b/n and lists. Pure: the local host's timers
run on it, and the settings check RECONCILE_SCHEDULE with it at start-up."""
from __future__ import annotations

from datetime import datetime, timedelta

_RANGES = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
          "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
          "oct": 10, "nov": 11, "dec": 12}


class Schedule:
    def __init__(self, expression: str):
        parts = expression.split()
        if len(parts) != 6:
            raise ValueError(f"NCRONTAB needs six fields (second minute hour day month weekday): {expression!r}")
        self.expression = expression
        self.fields = [_parse_field(part, low, high) for part, (low, high) in zip(parts, _RANGES)]

    def matches(self, moment: datetime) -> bool:
        second, minute, hour, day, month, weekday = self.fields
        return (moment.second in second and moment.minute in minute and moment.hour in hour
                and moment.day in day and moment.month in month and (moment.weekday() + 1) % 7 in weekday)

    def next_after(self, moment: datetime) -> datetime:
        """The first matching whole second after `moment`; walks minutes when the minute cannot match."""
        candidate = moment.replace(microsecond=0) + timedelta(seconds=1)
        limit = candidate + timedelta(days=366 * 5)
        while candidate < limit:
            if (candidate.minute in self.fields[1] and candidate.hour in self.fields[2]
                    and candidate.day in self.fields[3] and candidate.month in self.fields[4]
                    and (candidate.weekday() + 1) % 7 in self.fields[5]):
                for second in sorted(self.fields[0]):
                    if second >= candidate.second:
                        return candidate.replace(second=second)
            candidate = candidate.replace(second=0) + timedelta(minutes=1)
        raise ValueError(f"schedule {self.expression!r} never fires")


def _parse_field(text: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for item in text.lower().split(","):
        step = 1
        if "/" in item:
            item, step_text = item.split("/", 1)
            step = int(step_text)
            if step < 1:
                raise ValueError(f"bad step in {text!r}")
        if item == "*":
            start, end = low, high
        elif "-" in item:
            first, last = item.split("-", 1)
            start, end = _value(first), _value(last)
        else:
            start = _value(item)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high):
            raise ValueError(f"{text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str) -> int:
    if text in _NAMES:
        return _NAMES[text]
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{text!r} is not a number or a day or month name")
    return int(text)


def check(expression: str) -> None:
    """Raise ValueError, with the reason, unless `expression` parses as a schedule."""
    Schedule(expression)

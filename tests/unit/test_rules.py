"""Merchandising rules: parsing (every bad rule is a ValidationError), the pass a list goes through, and the
per-process cache of the rules document (over a real SQLite store)."""
from datetime import datetime, timedelta, timezone

import pytest

from shared.adapters.sqlite_store import SqliteStore
from shared.domain.errors import NotFoundError, ValidationError
from shared.domain.rules import MAX_RULES, apply, parse_rule, pool_size
from shared.services.rules import RuleBook

NOW = datetime(2024, 6, 1, 12, tzinfo=timezone.utc)
CANDIDATES = [(f"p{n}", 1.0 - n / 100) for n in range(1, 11)]     # p1 best ... p10
CATEGORY = {f"p{n}": "red" if n % 2 else "blue" for n in range(1, 21)}


def run(rules, k=5, candidates=CANDIDATES, list_name="popular", allowed=lambda pid: pid in CATEGORY):
    return [placed.product_id for placed in apply(rules, list_name, candidates, k, NOW, CATEGORY.get, allowed)]


@pytest.mark.parametrize("body", [
    {}, {"action": "promote", "products": ["p1"]}, {"action": "hide"},
    {"action": "hide", "products": ["p1"], "category": "red"}, {"action": "hide", "products": []},
    {"action": "hide", "products": ["p1", "p1"]}, {"action": "hide", "products": "p1"},
    {"action": "hide", "products": ["a/b"]}, {"action": "hide", "category": ""},
    {"action": "boost", "products": ["p1"], "weight": 0.5}, {"action": "boost", "products": ["p1"], "weight": 1},
    {"action": "boost", "products": ["p1"], "weight": 1000}, {"action": "boost", "products": ["p1"], "weight": "2"},
    {"action": "hide", "products": ["p1"], "weight": 2}, {"action": "pin", "products": ["p1"]},
    {"action": "pin", "products": ["p1"], "position": 0}, {"action": "pin", "products": ["p1"], "position": 1.5},
    {"action": "boost", "products": ["p1"], "position": 1}, {"action": "hide", "products": ["p1"], "lists": []},
    {"action": "hide", "products": ["p1"], "lists": ["everything"]},
    {"action": "hide", "products": ["p1"], "startsAt": "yesterday"},
    {"action": "hide", "products": ["p1"], "startsAt": "2024-06-02T00:00:00Z", "endsAt": "2024-06-01T00:00:00Z"},
    {"action": "hide", "products": ["p1"], "colour": "red"}, ["not", "an", "object"],
])
def test_bad_rules_are_refused(body):
    with pytest.raises(ValidationError):
        parse_rule("r1", body)


def test_a_rule_reads_back_as_it_was_written():
    rule = parse_rule("spring", {"action": "boost", "category": "red", "weight": 3, "lists": ["popular"],
                                 "startsAt": "2024-06-01T00:00:00+02:00", "endsAt": "2024-07-01T00:00:00Z"})
    assert rule.to_json() == {"id": "spring", "action": "boost", "category": "red", "weight": 3.0,
                              "lists": ["popular"], "startsAt": "2024-05-31T22:00:00.000Z",
                              "endsAt": "2024-07-01T00:00:00.000Z"}
    assert parse_rule("b", {"action": "bury", "products": ["p1"]}).weight == 2.0


def test_hide_removes_a_product_or_a_category_from_the_list_it_names():
    assert run([parse_rule("h", {"action": "hide", "products": ["p1", "p3"]})]) == ["p2", "p4", "p5", "p6", "p7"]
    assert run([parse_rule("h", {"action": "hide", "category": "red"})]) == ["p2", "p4", "p6", "p8", "p10"]
    only_similar = parse_rule("h", {"action": "hide", "products": ["p1"], "lists": ["similar"]})
    assert run([only_similar]) == ["p1", "p2", "p3", "p4", "p5"]
    assert run([only_similar], list_name="similar")[0] == "p2"


def test_boost_and_bury_act_on_rank_by_their_weight():
    boost = parse_rule("b", {"action": "boost", "products": ["p9"], "weight": 3})    # rank 9 -> as if 3
    assert run([boost]) == ["p1", "p2", "p3", "p9", "p4"]                           # a tie keeps the order
    assert run([parse_rule("b", {"action": "boost", "products": ["p9"], "weight": 3.5})])[2] == "p9"
    bury = parse_rule("d", {"action": "bury", "products": ["p1"], "weight": 4.5})    # rank 1 -> as if 4.5
    assert run([bury]) == ["p2", "p3", "p4", "p1", "p5"]
    reds_up = parse_rule("r", {"action": "boost", "category": "red", "weight": 10})
    assert run([reds_up]) == ["p1", "p3", "p5", "p7", "p9"]


def test_pin_puts_products_at_their_position_even_from_outside_the_list():
    pin = parse_rule("pin", {"action": "pin", "products": ["p15", "p4"], "position": 2})
    assert run([pin]) == ["p1", "p15", "p4", "p2", "p3"]
    first = parse_rule("a", {"action": "pin", "products": ["p9"], "position": 1})
    assert run([first, pin]) == ["p9", "p15", "p4", "p1", "p2"]
    placed = apply([pin], "popular", CANDIDATES, 5, NOW, CATEGORY.get, lambda pid: True)
    assert [(item.product_id, item.rule_id) for item in placed][:3] == [("p1", None), ("p15", "pin"), ("p4", "pin")]
    assert placed[2].score == dict(CANDIDATES)["p4"]          # a candidate keeps its score
    category_pin = parse_rule("c", {"action": "pin", "category": "blue", "position": 1})
    assert run([category_pin]) == ["p2", "p1", "p3", "p4", "p5"]


def test_a_pin_never_brings_in_what_the_list_excludes_or_a_hide_removes():
    pin = parse_rule("pin", {"action": "pin", "products": ["p15", "ghost"], "position": 1})
    assert run([pin], allowed=lambda pid: pid in CATEGORY and pid != "p15") == ["p1", "p2", "p3", "p4", "p5"]
    hide = parse_rule("h", {"action": "hide", "products": ["p15"]})
    assert run([pin, hide]) == ["p1", "p2", "p3", "p4", "p5"]
    assert run([parse_rule("far", {"action": "pin", "products": ["p15"], "position": 50})]) == run([])


def test_rules_apply_only_between_starts_and_ends():
    later = parse_rule("h", {"action": "hide", "products": ["p1"], "startsAt": "2024-06-01T12:00:01Z"})
    over = parse_rule("o", {"action": "hide", "products": ["p2"], "endsAt": "2024-06-01T12:00:00Z"})
    now = parse_rule("n", {"action": "hide", "products": ["p3"], "startsAt": "2024-06-01T12:00:00Z",
                           "endsAt": "2024-06-01T12:00:01Z"})
    assert run([later, over, now]) == ["p1", "p2", "p4", "p5", "p6"]


def test_the_pool_is_deep_enough_for_the_strongest_boost():
    rules = [parse_rule("b", {"action": "boost", "products": ["p1"], "weight": 5}),
             parse_rule("h", {"action": "hide", "products": ["a", "b"]})]
    assert pool_size([], "popular", 10, NOW) == 10
    assert pool_size(rules, "popular", 10, NOW) == 52
    assert pool_size(rules, "similar", 10, NOW) == 52 and pool_size(rules[:1], "popular", 10, NOW) == 50


@pytest.fixture
def store(tmp_path):
    opened = SqliteStore(str(tmp_path / "rules.sqlite3"))
    yield opened
    opened.close()


def test_the_book_stores_lists_and_deletes_rules(store):
    book = RuleBook(store)
    assert book.list() == [] and book.current() == ()
    rule, created = book.put("r2", {"action": "hide", "products": ["p1"]})
    assert created and rule == {"id": "r2", "action": "hide", "products": ["p1"], "lists": list(book.get("r2")["lists"])}
    assert book.put("r1", {"action": "pin", "products": ["p2"], "position": 1})[1]
    assert not book.put("r2", {"action": "hide", "products": ["p3"]})[1]       # replaced, not added
    assert [rule["id"] for rule in book.list()] == ["r1", "r2"] and book.get("r2")["products"] == ["p3"]
    book.delete("r1")
    with pytest.raises(NotFoundError):
        book.get("r1")
    with pytest.raises(NotFoundError):
        book.delete("r1")


def test_another_instance_sees_a_change_after_its_refresh_and_never_reads_before(store):
    writer, reader = RuleBook(store), RuleBook(store, refresh_seconds=60)
    assert reader.current() == ()                       # the first read of a process
    writer.put("h", {"action": "hide", "products": ["p1"]})
    assert reader.current() == ()                       # within the refresh interval: the cached copy
    reader.refresh()
    assert [rule.id for rule in reader.current()] == ["h"]


def test_a_stale_copy_is_refreshed_in_the_background_or_read_again_when_too_old(store):
    writer = RuleBook(store)
    background = RuleBook(store, refresh_seconds=0.0001, max_stale_seconds=3600)
    assert background.current() == ()
    writer.put("h", {"action": "hide", "products": ["p1"]})
    background.current()                                # starts the refresh and returns at once
    background.wait_for_refresh(10)
    assert [rule.id for rule in background.current()] == ["h"]
    too_old = RuleBook(store, refresh_seconds=0.0001, max_stale_seconds=0.0001)
    assert [rule.id for rule in too_old.current()] == ["h"]
    writer.delete("h")
    assert too_old.current() == ()                      # read on the request itself


def test_two_writers_never_lose_a_rule(store):
    first, second = RuleBook(store), RuleBook(store)
    for number in range(10):
        (first if number % 2 else second).put(f"r{number}", {"action": "hide", "products": [f"p{number}"]})
    assert [rule["id"] for rule in first.list()] == [f"r{number}" for number in range(10)]


def test_too_large_a_rules_document_is_refused_and_nothing_is_lost(store):
    book = RuleBook(store)
    long_ids = [f"{n:04d}" + "x" * 120 for n in range(1000)]     # about 127 KB of JSON per rule
    accepted = 0
    with pytest.raises(ValidationError):
        while accepted < 50:
            book.put(f"big{accepted:02d}", {"action": "hide", "products": long_ids})
            accepted += 1
    assert 14 <= accepted <= 16 and len(book.list()) == accepted


def test_at_most_the_maximum_number_of_rules(store):
    book = RuleBook(store)
    for number in range(MAX_RULES):
        book.put(f"r{number:03d}", {"action": "hide", "products": ["p1"]})
    with pytest.raises(ValidationError):
        book.put("one-more", {"action": "hide", "products": ["p1"]})
    book.put("r000", {"action": "bury", "products": ["p1"]})     # replacing one is still fine
    assert len(book.list()) == MAX_RULES

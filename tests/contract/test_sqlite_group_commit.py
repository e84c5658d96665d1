"""The SQLite store's writes: group commit (writes waiting while a transaction commits share the next one,
each failing alone) and one writer across processes (a lock file beside the database)."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from shared.adapters.sqlite_store import SqliteStore
from shared.adapters.sqlite_writer import LOCK_SUFFIX, GroupCommit
from shared.domain.ports import ORDERS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Refused(Exception):
    pass


@pytest.fixture
def database(tmp_path):
    path = str(tmp_path / "writes.sqlite3")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE rows (name TEXT PRIMARY KEY)")
    conn.close()
    return path


def writer_on(path: str) -> GroupCommit:
    local = threading.local()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        return local.conn
    return GroupCommit(path, connection)


def wait_until(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.01)


def test_writes_waiting_behind_a_commit_share_the_next_transaction_and_a_failing_one_fails_alone(database):
    writer = writer_on(database)
    outcomes: dict[str, object] = {}
    connections: dict[str, int] = {}
    entered, release = threading.Event(), threading.Event()

    def insert(name: str, fail: bool = False, hold: bool = False):
        def operation(conn):
            connections[name] = id(conn)
            conn.execute("INSERT INTO rows VALUES (?)", (name,))
            if hold:   # a transaction in progress, for as long as the test wants
                entered.set()
                release.wait()
            if fail:   # after writing: its row must be undone, and only its row
                raise Refused(name)
            return name
        try:
            outcomes[name] = writer.run(operation)
        except Refused as error:
            outcomes[name] = error

    first = threading.Thread(target=insert, args=("first", False, True))
    first.start()
    assert entered.wait(30)
    later = [threading.Thread(target=insert, args=(name, name == "bad")) for name in ("a", "bad", "b", "c")]
    for thread in later:
        thread.start()
    wait_until(lambda: writer.waiting() == 4, "four writes queued behind the first")
    assert outcomes == {}                       # nobody is answered before their commit
    release.set()
    for thread in [first, *later]:
        thread.join()
    assert outcomes["first"] == "first" and [outcomes[name] for name in "abc"] == ["a", "b", "c"]
    assert isinstance(outcomes["bad"], Refused)
    assert len({connections[name] for name in ("a", "bad", "b", "c")}) == 1   # one transaction, one connection
    assert connections["a"] != connections["first"]
    conn = sqlite3.connect(database)
    assert sorted(row[0] for row in conn.execute("SELECT name FROM rows")) == ["a", "b", "c", "first"]
    writer.close()


def test_a_transaction_holds_the_lock_file_that_writers_in_other_processes_wait_on(database):
    writer = writer_on(database)
    other = os.open(database + LOCK_SUFFIX, os.O_RDWR)   # another process's view: its own open file

    def try_lock(conn):
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return "held"
        fcntl.flock(other, fcntl.LOCK_UN)
        return "free"

    assert writer.run(try_lock) == "held"
    assert try_lock(None) == "free"   # released once committed
    os.close(other)
    writer.close()


def test_a_transaction_that_cannot_commit_fails_every_write_in_it(database):
    writer = writer_on(database)
    blocker = sqlite3.connect(database, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")   # a writer that does not take the lock file (the sqlite3 shell, say)
    short = sqlite3.connect(database, isolation_level=None, check_same_thread=False, timeout=0.1)
    stuck = GroupCommit(database, lambda: short)
    with pytest.raises(sqlite3.OperationalError):
        stuck.run(lambda conn: conn.execute("INSERT INTO rows VALUES ('never')"))
    blocker.execute("ROLLBACK")
    assert writer.run(lambda conn: conn.execute("INSERT INTO rows VALUES ('later')").rowcount) == 1
    assert [row[0] for row in sqlite3.connect(database).execute("SELECT name FROM rows")] == ["later"]
    writer.close()
    stuck.close()


def test_writes_gathered_by_one_caller_go_into_one_transaction_each_failing_alone(database):
    writer = writer_on(database)
    entered, release = threading.Event(), threading.Event()

    def hold(conn):
        entered.set()
        release.wait()

    def insert(name: str):
        def operation(conn):
            conn.execute("INSERT INTO rows VALUES (?)", (name,))
            if name == "bad":
                raise Refused(name)
            return name
        return operation

    holder = threading.Thread(target=writer.run, args=(hold,))
    holder.start()
    assert entered.wait(30)
    gathered: list = []
    caller = threading.Thread(target=lambda: gathered.extend(writer.run_all([insert(n) for n in ("a", "bad", "b")])))
    caller.start()
    wait_until(lambda: writer.waiting() == 3, "the three writes queued together")
    assert gathered == []                        # nobody is answered before their commit
    release.set()
    holder.join()
    caller.join()
    assert [result for result, _ in gathered] == ["a", None, "b"]
    assert [type(error) for _, error in gathered] == [type(None), Refused, type(None)]
    assert sorted(row[0] for row in sqlite3.connect(database).execute("SELECT name FROM rows")) == ["a", "b"]
    assert writer.run_all([]) == []
    writer.close()


def test_gathered_writes_in_a_transaction_that_cannot_commit_all_fail(database):
    blocker = sqlite3.connect(database, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    short = sqlite3.connect(database, isolation_level=None, check_same_thread=False, timeout=0.1)
    stuck = GroupCommit(database, lambda: short)
    outcomes = stuck.run_all([lambda conn: conn.execute("INSERT INTO rows VALUES ('x')")] * 2)
    blocker.execute("ROLLBACK")
    assert [type(error) for _, error in outcomes] == [sqlite3.OperationalError] * 2
    assert list(sqlite3.connect(database).execute("SELECT name FROM rows")) == []
    stuck.close()


def test_create_each_creates_each_document_on_its_own(tmp_path):
    store = SqliteStore(str(tmp_path / "each.sqlite3"))
    store.create(ORDERS, {"id": "taken", "userId": "u1"})
    outcomes = store.create_each(ORDERS, [{"id": "a", "userId": "u1"}, {"id": "taken", "userId": "u1"},
                                          {"userId": "u1"}, {"id": "a", "userId": "u1"}, {"id": "b", "userId": "u2"}])
    kinds = [type(outcome).__name__ for outcome in outcomes]
    assert kinds == ["Written", "ConflictError", "ValueError", "ConflictError", "Written"]
    assert outcomes[0].document["id"] == "a" and outcomes[4].document["userId"] == "u2"
    assert outcomes[0].session_token != outcomes[4].session_token   # two writes, two sequence numbers
    assert sorted(doc["id"] for doc in store.scan(ORDERS)) == ["a", "b", "taken"]
    assert store.read(ORDERS, "a", "u1")["_etag"] == outcomes[0].document["_etag"]
    store.close()


_PLACE_ORDERS = """
import sys, threading
from shared.adapters.sqlite_store import SqliteStore
from shared.services.orders import OrderService
path, tag = sys.argv[1], sys.argv[2]
service = OrderService(SqliteStore(path))
created = []
def place(first):
    for n in range(first, 400, 4):
        # Even numbers: the same order sent to both processes (a storefront retrying on another instance).
        order_id = f"shared-{n}" if n % 2 == 0 else f"{tag}-{n}"
        placed = service.place({"orderId": order_id, "userId": f"user-{n % 13}",
                                "items": [{"productId": f"p{n % 17}", "quantity": 1 + n % 3}]})
        if placed.created:
            created.append(order_id)
threads = [threading.Thread(target=place, args=(k,)) for k in range(4)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print("\\n".join(created))
"""


def test_two_processes_writing_at_once_lose_nothing_and_store_each_order_once(tmp_path):
    path = str(tmp_path / "shared.sqlite3")
    SqliteStore(path).close()
    env = dict(os.environ, PYTHONPATH=ROOT)
    processes = [subprocess.Popen([sys.executable, "-c", _PLACE_ORDERS, path, tag], stdout=subprocess.PIPE,
                                  env=env, cwd=ROOT, text=True) for tag in ("left", "right")]
    created = [process.communicate(timeout=120)[0].split() for process in processes]
    assert [process.returncode for process in processes] == [0, 0]
    store = SqliteStore(path)
    stored = [doc["id"] for doc in store.scan(ORDERS)]
    expected = {f"shared-{n}" for n in range(0, 400, 2)} | {f"{tag}-{n}" for tag in ("left", "right")
                                                             for n in range(1, 400, 2)}
    assert sorted(stored) == sorted(expected)                        # all there, none twice
    assert sorted(created[0] + created[1]) == sorted(expected)       # each created exactly once, by one of them
    changes = store.read_changes(ORDERS, 0, 10_000)
    assert [seq for seq, _ in changes] == sorted({seq for seq, _ in changes})   # the feed: one sequence, no gaps
    assert len(changes) == len(expected)
    store.close()

"""FUNCTIONS_WORKER_PROCESS_COUNT=2 on the real local host (`manage.py serve`): both processes answer on the one
port, only the primary runs the change feed trigger, and no child outlives the primary, however it ends."""
import json
import os
import signal
import time

import pytest

from tests.integration.localhost import ADMIN_KEY, LocalHostProcess, wait_for


def start(tmp_path, **env) -> LocalHostProcess:
    host = LocalHostProcess(str(tmp_path / "store.sqlite3"),
                            {"FUNCTIONS_WORKER_PROCESS_COUNT": "2", "RECORD_PATH": str(tmp_path / "seen.jsonl"), **env},
                            args=("--app", "tests.integration.recording_app")).start()
    wait_for(lambda: "Admin key:" in host.log(), 60, "the banner: every process listens", host)
    return host


@pytest.fixture
def host(tmp_path):
    process = start(tmp_path)
    yield process
    process.stop()


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
        return [int(child) for child in handle.read().split()]


def alive(pid: int) -> bool:
    """Running, and not a zombie (an orphan's zombie lingers when nothing reaps it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_each_process_has_a_cpu_of_its_own_when_there_are_enough(host):
    [child] = children(host.process.pid)
    if len(os.sched_getaffinity(0)) < 2:
        assert os.sched_getaffinity(host.process.pid) == os.sched_getaffinity(child) == os.sched_getaffinity(0)
        return
    primary, other = os.sched_getaffinity(host.process.pid), os.sched_getaffinity(child)
    assert len(primary) == len(other) == 1 and primary != other


def answered_by(host, count: int, method: str = "GET", path: str = "/api/health", body=None) -> list[str]:
    """The X-Worker-Pid of `count` requests, each on a new connection (the kernel spreads connections)."""
    pids = []
    for number in range(count):
        status, _, headers = host.request(method, path, body(number) if body else None)
        assert status in (200, 201)
        pids.append(headers["X-Worker-Pid"])
    return pids


def test_both_processes_answer_with_the_same_keys(host):
    [child] = children(host.process.pid)
    both = {str(host.process.pid), str(child)}
    seen = set()
    for _ in range(10):
        seen.update(answered_by(host, 20, path="/api/users/u1/orders"))   # needs the function key
        if seen == both:
            break
    assert seen == both
    assert host.request("GET", "/api/users/u1/orders", key="wrong")[0] == 401


def test_orders_from_either_process_reach_the_trigger_once_in_the_primary(host, tmp_path):
    pids = answered_by(host, 40, "POST", "/api/orders", lambda number: {
        "orderId": f"o-{number}", "userId": f"u{number % 5}", "items": [{"productId": "p1", "quantity": 1}]})
    assert len(set(pids)) == 2   # acknowledged by both processes (all on one: odds 2 in 2^40)
    record = tmp_path / "seen.jsonl"
    wait_for(lambda: record.exists() and len(record.read_text().splitlines()) >= 40, 30, "the trigger saw 40", host)
    time.sleep(1)   # several more feed polls: a second pump would deliver them all again
    seen = [json.loads(line) for line in record.read_text().splitlines()]
    assert sorted(order for _, order in seen) == sorted(f"o-{number}" for number in range(40))
    assert {pid for pid, _ in seen} == {host.process.pid}


def test_sigint_to_the_primary_stops_and_reaps_its_children(tmp_path):
    host = start(tmp_path)
    [child] = children(host.process.pid)
    host.stop()   # SIGINT
    assert host.process.returncode == 0 and "Stopped." in host.log()
    assert not alive(child)


def test_children_exit_when_the_primary_is_killed(tmp_path):
    host = start(tmp_path)
    [child] = children(host.process.pid)
    host.kill()   # SIGKILL: no chance to stop them
    wait_for(lambda: not alive(child), 15, "the orphaned child exits", host)


def test_a_child_that_dies_is_replaced(host):
    [child] = children(host.process.pid)
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: children(host.process.pid) not in ([], [child]), 30, "a new child", host)
    [replacement] = children(host.process.pid)
    wait_for(lambda: str(replacement) in answered_by(host, 10), 30, "the new child answers", host)
    assert f"worker process {child} exited with code -9" in host.log()


def test_a_manual_retrain_answered_by_a_worker_process_is_trained_where_the_timer_follows_it(tmp_path):
    """The local trainer trains in the process that submits; only the primary's reconcile timer follows runs.
    So a request the child answers is only recorded there, and the timer submits and activates it."""
    host = start(tmp_path, RECONCILE_SCHEDULE="*/1 * * * * *", RETRAIN_MIN_NEW_ORDERS="0")
    try:
        [child] = children(host.process.pid)
        for number in range(40):
            status, body, _ = host.request("POST", "/api/orders", {
                "orderId": f"o{number}", "userId": f"u{number % 8}",
                "items": [{"productId": f"p{number % 10}", "quantity": 1}]})
            assert status == 201, body
        deadline = time.monotonic() + 120
        while True:   # until the child answers a POST (connections are spread by the kernel)
            assert time.monotonic() < deadline, host.log()[-3000:]
            status, request, headers = host.request("POST", "/api/manage/training-runs", {}, key=ADMIN_KEY)
            if status == 409:        # one is in flight: wait for it
                time.sleep(0.5)
                continue
            assert status == 202, request
            if headers["X-Worker-Pid"] == str(child):
                assert request["state"] == "pending"   # recorded only
                break
            wait_for(lambda: run_state(host, request["id"]) == "activated", 60, "the primary's run", host)
        wait_for(lambda: run_state(host, request["id"]) == "activated", 60, "the child's request, trained", host)
    finally:
        host.stop()


def run_state(host, request_id: str) -> str:
    status, body, _ = host.request("GET", f"/api/manage/training-runs/{request_id}", key=ADMIN_KEY)
    assert status == 200, body
    return body["state"]

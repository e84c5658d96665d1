"""A fake Databricks workspace answering the Jobs API calls the trainer makes, the way Databricks answers them, so
tests run databricks-sdk's real HTTP, retry and error-parsing code against it.

Served: GET /.well-known/databricks-config (the SDK asks while building its Config), POST /api/2.2/jobs/run-now and
GET /api/2.2/jobs/runs/get (2.1 paths too). Every /api call needs `Authorization: Bearer <token>` (401 otherwise).
Controls for tests: fail_next / fail_for (429 with Retry-After, 503, ...), delay_next (provoke client timeouts),
set_run & co. (QUEUED, RUNNING, TERMINATED with a termination code), and `requests`, every request as received.
Controls also exist over HTTP under /_fake/ (no auth) for a fake started as its own process:

    python -m tests.fakes.databricks_jobs_api --port 0 --token T --job-id 123     # prints its URL
"""
from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

DEFAULT_TOKEN = "fake-databricks-token"
DEFAULT_JOB_ID = 123
WORKSPACE_ID = "1234567890123456"
ERROR_CODES = {400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
               404: "RESOURCE_DOES_NOT_EXIST", 429: "REQUEST_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR",
               503: "TEMPORARILY_UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
MESSAGES = {429: "Too many requests. Please wait a moment and try again.", 500: "Internal error.",
            503: "The service is temporarily unavailable.", 504: "The request timed out."}
LEGACY_LIFE_CYCLE = {"WAITING": "WAITING_FOR_RETRY"}
LEGACY_RESULT = {"SUCCESS": "SUCCESS", "SUCCESS_WITH_FAILURES": "SUCCESS_WITH_FAILURES", "CANCELED": "CANCELED",
                 "USER_CANCELED": "CANCELED", "SKIPPED": "EXCLUDED"}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    body: dict | None
    headers: dict            # as sent, minus Authorization
    authorized: bool
    status: int = 0

    @property
    def idempotency_token(self) -> str | None:
        return (self.body or {}).get("idempotency_token")


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    error_code: str
    remaining: int | None = None     # answer this many calls with the fault...
    until: float | None = None       # ...or every call before this time


@dataclass
class _Run:
    run_id: int
    job_id: int
    job_parameters: dict
    state: str = "PENDING"
    code: str | None = None
    type: str | None = None
    message: str = ""
    start_time: int = field(default_factory=lambda: int(time.time() * 1000))


class FakeJobsApi:
    """The fake workspace. `with FakeJobsApi() as api:` serves on a free port at `api.url`."""

    def __init__(self, token: str = DEFAULT_TOKEN, job_ids=(DEFAULT_JOB_ID,), *, host: str = "127.0.0.1",
                 port: int = 0, missing_status: int = 400, include_status: bool = True):
        self.token, self.jobs = token, set(job_ids)
        self.missing_status = missing_status      # 400 INVALID_PARAMETER_VALUE or 404 RESOURCE_DOES_NOT_EXIST
        self.include_status = include_status      # False: answer like an older API with `state` only
        self.requests: list[Recorded] = []
        self.runs: dict[int, _Run] = {}
        self._tokens: dict[str, int] = {}
        self._faults: list[_Fault] = []
        self._delays: list[float] = []
        self._next_run_id = 1001
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.block_on_close = False       # do not wait for handlers still sleeping in a delay
        self._server.fake = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeJobsApi":
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),  # quick shutdown
                                        name="fake-databricks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeJobsApi":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- controls -----------------------------------------------------------------------------------------
    def fail_next(self, count: int, status: int = 429, retry_after: int | None = 1, error_code: str = "") -> None:
        with self._lock:
            self._faults.append(_Fault(status, retry_after, error_code or ERROR_CODES[status], remaining=count))

    def fail_for(self, seconds: float, status: int = 503, retry_after: int | None = 1, error_code: str = "") -> None:
        with self._lock:
            until = time.monotonic() + seconds
            self._faults.append(_Fault(status, retry_after, error_code or ERROR_CODES[status], until=until))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._delays.clear()

    def delay_next(self, seconds: float, count: int = 1) -> None:
        with self._lock:
            self._delays.extend([seconds] * count)

    def set_run(self, run_id, state: str, code: str | None = None, kind: str | None = None, message: str = ""):
        with self._lock:
            run = self.runs[int(run_id)]
            run.state, run.code, run.type, run.message = state, code, kind, message

    def queue_run(self, run_id, message: str = "Queued: the job has reached its maximum concurrent runs."):
        self.set_run(run_id, "QUEUED", message=message)

    def start_run(self, run_id):
        self.set_run(run_id, "RUNNING", message="In run")

    def succeed_run(self, run_id):
        self.set_run(run_id, "TERMINATED", "SUCCESS", "SUCCESS", "")

    def fail_run(self, run_id, message: str = "Task train failed with message: ValueError.",
                 code: str = "RUN_EXECUTION_ERROR", kind: str = "CLIENT_ERROR"):
        self.set_run(run_id, "TERMINATED", code, kind, message)

    @property
    def runs_started(self) -> int:
        return len(self.runs)

    def calls(self, suffix: str) -> list[Recorded]:
        """Recorded /api requests whose path ends with `suffix`, e.g. 'jobs/run-now'."""
        return [r for r in list(self.requests) if r.path.startswith("/api/") and r.path.endswith(suffix)]

    # ---- the API ------------------------------------------------------------------------------------------
    def handle(self, handler: "_Handler") -> tuple[int, dict, dict]:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return 400, {"error_code": "MALFORMED_REQUEST", "message": "Invalid JSON given in the body."}, {}
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "authorization"}
        authorized = handler.headers.get("Authorization") == f"Bearer {self.token}"
        record = Recorded(handler.command, parts.path, dict(parse_qsl(parts.query)), body, headers, authorized)
        if parts.path.startswith("/_fake/"):
            return self._control(handler.command, parts.path, body or {})
        self.requests.append(record)
        handler.record = record
        if parts.path == "/.well-known/databricks-config":
            return 200, {"oidc_endpoint": f"{self.url}/oidc", "workspace_id": WORKSPACE_ID}, {}
        with self._lock:
            delay = self._delays.pop(0) if self._delays else 0
        if delay:
            self._stopping.wait(delay)
        if not parts.path.startswith("/api/"):
            return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for {parts.path}"}, {}
        if not authorized:
            return 401, {"error_code": "UNAUTHENTICATED",
                         "message": "Credential was not sent or was of an unsupported type for this API."}, {}
        fault = self._take_fault()
        if fault:
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            message = MESSAGES.get(fault.status, "Request failed.")
            return fault.status, {"error_code": fault.error_code, "message": message}, extra
        route = (handler.command, parts.path.replace("/api/2.1/", "/api/2.2/"))
        if route == ("POST", "/api/2.2/jobs/run-now"):
            return self._run_now(body or {})
        if route == ("GET", "/api/2.2/jobs/runs/get"):
            return self._get_run(record.query.get("run_id", ""))
        return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for '{route[0]} {route[1]}'"}, {}

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            now = time.monotonic()
            self._faults = [f for f in self._faults if f.remaining != 0 and (f.until is None or f.until > now)]
            if not self._faults:
                return None
            fault = self._faults[0]
            if fault.remaining is not None:
                fault.remaining -= 1
            return fault

    def _missing(self, what: str) -> tuple[int, dict, dict]:
        code = "RESOURCE_DOES_NOT_EXIST" if self.missing_status == 404 else "INVALID_PARAMETER_VALUE"
        return self.missing_status, {"error_code": code, "message": f"{what} does not exist."}, {}

    def _run_now(self, body: dict) -> tuple[int, dict, dict]:
        job_id, params, token = body.get("job_id"), body.get("job_parameters") or {}, body.get("idempotency_token")
        if not isinstance(job_id, int):
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "Missing required field: job_id"}, {}
        if job_id not in self.jobs:
            return self._missing(f"Job {job_id}")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "job_parameters must be strings"}, {}
        if token is not None and len(token) > 64:
            return 400, {"error_code": "INVALID_PARAMETER_VALUE",
                         "message": "Idempotency token must be at most 64 characters."}, {}
        with self._lock:
            run_id = self._tokens.get(token) if token else None
            if run_id is None:
                run_id, self._next_run_id = self._next_run_id, self._next_run_id + 1
                self.runs[run_id] = _Run(run_id, job_id, dict(params))
                if token:
                    self._tokens[token] = run_id
        return 200, {"run_id": run_id, "number_in_job": run_id}, {}

    def _get_run(self, raw_id: str) -> tuple[int, dict, dict]:
        if not raw_id.isdigit():
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "Missing required field: run_id"}, {}
        run = self.runs.get(int(raw_id))
        return (200, self.run_json(run), {}) if run else self._missing(f"Run {raw_id}")

    def run_json(self, run: _Run) -> dict:
        done = run.state == "TERMINATED"
        legacy = {"life_cycle_state": LEGACY_LIFE_CYCLE.get(run.state, run.state), "state_message": run.message,
                  "user_cancelled_or_timedout": run.code in ("USER_CANCELED", "CANCELED")}
        if done:
            legacy["result_state"] = LEGACY_RESULT.get(run.code or "", "FAILED")
        out = {"job_id": run.job_id, "run_id": run.run_id, "number_in_job": run.run_id, "run_type": "JOB_RUN",
               "original_attempt_run_id": run.run_id, "run_name": "train_als", "attempt_number": 0,
               "creator_user_name": "trainer@example.com", "trigger": "ONE_TIME", "start_time": run.start_time,
               "end_time": int(time.time() * 1000) if done else 0, "state": legacy,
               "run_page_url": f"{self.url}/?o={WORKSPACE_ID}#job/{run.job_id}/run/{run.run_id}",
               "job_parameters": [{"name": k, "value": v, "default": ""} for k, v in run.job_parameters.items()]}
        if self.include_status:
            status: dict = {"state": run.state}
            if run.state in ("TERMINATING", "TERMINATED") and run.code:
                status["termination_details"] = {"code": run.code, "type": run.type, "message": run.message}
            if run.state == "QUEUED":
                status["queue_details"] = {"code": "ACTIVE_RUNS_LIMIT_REACHED", "message": run.message}
            out["status"] = status
        return out

    def _control(self, method: str, path: str, body: dict) -> tuple[int, dict, dict]:
        """/_fake/runs/<id> {state, code, type, message}; /_fake/faults {count|seconds, status, retry_after};
        /_fake/delay {seconds, count}; /_fake/clear; GET /_fake/requests; GET /_fake/runs."""
        name = path[len("/_fake/"):]
        if method == "GET" and name == "requests":
            return 200, {"requests": [asdict(r) for r in list(self.requests)]}, {}
        if method == "GET" and name == "runs":
            return 200, {"runs": [asdict(r) for r in list(self.runs.values())]}, {}
        if name.startswith("runs/") and name[5:].isdigit() and int(name[5:]) in self.runs:
            self.set_run(name[5:], body["state"], body.get("code"), body.get("type"), body.get("message", ""))
        elif name == "faults" and "seconds" in body:
            self.fail_for(body["seconds"], body.get("status", 503), body.get("retry_after", 1))
        elif name == "faults":
            self.fail_next(body.get("count", 1), body.get("status", 429), body.get("retry_after", 1))
        elif name == "delay":
            self.delay_next(body["seconds"], body.get("count", 1))
        elif name == "clear":
            self.clear_faults()
        else:
            return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"no fake control {method} {path}"}, {}
        return 200, {}, {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as requests' connection pool expects
    server_version = "FakeDatabricks/1.0"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self) -> None:
        self.record = None
        status, payload, headers = self.server.fake.handle(self)
        data = json.dumps(payload).encode()
        if self.record is not None:
            self.record.status = status
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and went away
            self.close_connection = True

    do_GET = do_POST = _answer


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Databricks Jobs API until interrupted.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--job-id", type=int, action="append", dest="job_ids", help="may repeat; default 123")
    parser.add_argument("--missing-status", type=int, choices=(400, 404), default=400)
    args = parser.parse_args(argv)
    fake = FakeJobsApi(args.token, args.job_ids or [DEFAULT_JOB_ID], host=args.host, port=args.port,
                       missing_status=args.missing_status)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    fake.start()
    print(fake.url, flush=True)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()


if __name__ == "__main__":
    main()

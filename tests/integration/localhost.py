"""Start the real local host (`manage.py serve`) in a subprocess on a free port, for end-to-end tests."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUNCTION_KEY = "test-function-key"
ADMIN_KEY = "test-admin-key"
ORDERS_LEASE_ID = "orders-on_orders_changed"   # lease_container_prefix + function name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalHostProcess:
    def __init__(self, sqlite_path: str, extra_env: dict | None = None, args: tuple[str, ...] = (),
                 cwd: str = ROOT):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # SHOPPER_AUTH=key unless a test asks otherwise: a local.settings.json copied by `make run` says jwt.
        self.env = dict(os.environ, SQLITE_PATH=sqlite_path, LOCAL_FUNCTION_KEY=FUNCTION_KEY,
                        LOCAL_ADMIN_KEY=ADMIN_KEY, PYTHONUNBUFFERED="1", SHOPPER_AUTH="key")
        self.env.update(extra_env or {})   # a value of None removes the variable (e.g. a key left to generate)
        self.env = {key: value for key, value in self.env.items() if value is not None}
        self.args = args
        self.cwd = cwd   # where local.settings.json and host.json are read from, as `func start` reads them
        self.process: subprocess.Popen | None = None
        self.log_path = sqlite_path + f".{self.port}.log"

    def start(self, timeout: float = 60) -> "LocalHostProcess":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, os.path.join(ROOT, "manage.py"), "serve", "--port",
                                         str(self.port), *self.args], cwd=self.cwd, env=self.env, stdout=log,
                                        stderr=log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"local host exited early:\n{self.log()}")
            try:
                if self.request("GET", "/api/health")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"local host did not answer in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def request(self, method: str, path: str, body=None, key: str | None = FUNCTION_KEY, headers=None):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=dict(headers or {}))
        if key:
            request.add_header("x-functions-key", key)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _json(response.read()), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read()), dict(error.headers)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_for(check, timeout: float, what: str, host: LocalHostProcess | None = None):
    """Poll `check` until it returns something truthy; fail with the host's log tail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = host.log()[-4000:] if host else ""
            raise AssertionError(f"not within {timeout} s: {what}\n--- host log ---\n{tail}")
        time.sleep(0.2)


def _json(raw: bytes):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


def lease_position(path: str) -> int:
    """The checkpoint of the local host's orders change feed in the SQLite file at `path` (-1 before the first)."""
    from shared.adapters.sqlite_store import SqliteStore
    from shared.domain.ports import LEASES
    store = SqliteStore(path)
    try:
        return int(store.read(LEASES, ORDERS_LEASE_ID, ORDERS_LEASE_ID)["continuation"])
    except Exception:  # noqa: BLE001 - no checkpoint yet
        return -1
    finally:
        store.close()

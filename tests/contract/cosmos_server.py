"""A Cosmos DB protocol server for the contract tests: @vercel/cosmosdb-server (installed by `make test-deps`
from tests/cosmos_server/package-lock.json) in a node subprocess on a free local port, one per test session.

It serves https with a self-signed certificate, so clients connect with COSMOS_VERIFY_TLS=false; it accepts
any key. It keeps data in memory only, returns no session tokens and has no real change feed or transactional
batch; tests/contract/test_cosmos_http_boundary.py covers what it cannot show. Two point-read answers are made
Cosmos DB's by the LAUNCHER below: 404 for a missing document, and the conditional read (If-None-Match with the
document's etag answers 304 Not Modified with an empty body), which the package ignores."""
from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings

import pytest
from urllib3.exceptions import InsecureRequestWarning

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE_DIR = os.path.join(ROOT, "tests", "cosmos_server")
ENTRY = os.path.join(PACKAGE_DIR, "node_modules", "@vercel", "cosmosdb-server", "lib", "cli.js")
# The emulator's published well-known key; the protocol server accepts any base64 key.
EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIMsDA=="
START_TIMEOUT = 30.0

# @vercel/cosmosdb-server 1.0.1 differs from Cosmos DB on point reads in two ways this launcher fixes, in the one
# handler, before the server loads its routes; then it runs the package's own CLI, the rest as published:
# - a read of a missing document answers 500 ("Cannot read properties of undefined"), where Cosmos DB answers 404;
# - it ignores If-None-Match on a point read (it uses the header only for the change feed, with A-IM), where Cosmos
#   DB answers 304 Not Modified with an empty body when the document still has that etag, or for `*` any etag
#   (REST API "Get a Document"; .NET RequestOptions.IfNoneMatchEtag). Requests with A-IM are left to the package.
LAUNCHER = r"""
const lib = process.env.COSMOSDB_SERVER_LIB;
const handler = require(`${lib}/handler/read-document`);
const { default: partitionFromHeader, parsePartitionKey } = require(`${lib}/utils/get-partition-from-header`);
const original = handler.default;
handler.default = (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  const header = partitionFromHeader(req);
  if (collection.read() && header !== undefined) {
    const stored = collection.document(params.docId, parsePartitionKey(header, params.docId)).read();
    if (!stored) {
      res.statusCode = 404;
      return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
    }
    const ifNoneMatch = req.headers["if-none-match"];
    if (!req.headers["a-im"] && (ifNoneMatch === "*" || ifNoneMatch === stored._etag)) {
      res.statusCode = 304;
      res.setHeader("etag", stored._etag);
      return undefined;
    }
  }
  return original(account, req, res, params);
};
process.argv = [process.argv[0], `${lib}/cli.js`, ...process.argv.slice(1)];
require(`${lib}/cli.js`);
"""


class CosmosServer:
    def __init__(self, process: subprocess.Popen, port: int, log_path: str):
        self.process, self.port, self.log_path = process, port, log_path
        self.endpoint = f"https://127.0.0.1:{port}/"
        self.key = EMULATOR_KEY

    @classmethod
    def start(cls) -> "CosmosServer":
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is not on PATH: the Cosmos contract tests need Node.js 20+ to run the "
                        "Cosmos protocol server", pytrace=False)
        if not os.path.exists(ENTRY):
            pytest.fail(f"the Cosmos protocol server is not installed ({ENTRY} is missing): "
                        "run `make test-deps` (npm ci in tests/cosmos_server)", pytrace=False)
        port = free_port()
        log = tempfile.NamedTemporaryFile(prefix="cosmosdb-server-", suffix=".log", delete=False)
        # Bind to loopback only; the server would otherwise listen on every interface.
        process = subprocess.Popen([node, "-e", LAUNCHER, "--", "-p", str(port), "--host", "127.0.0.1"],
                                   env=dict(os.environ, COSMOSDB_SERVER_LIB=os.path.dirname(ENTRY)),
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        server = cls(process, port, log.name)
        server._wait_until_ready()
        return server

    def _wait_until_ready(self) -> None:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # self-signed certificate
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.output()
                self.stop()
                pytest.fail(f"the Cosmos protocol server exited with {self.process.returncode}: {output}",
                            pytrace=False)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as raw:
                    with context.wrap_socket(raw) as tls:
                        tls.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                        if tls.recv(12).startswith(b"HTTP/1.1 "):
                            return
            except OSError:
                time.sleep(0.1)
        output = self.output()
        self.stop()
        pytest.fail(f"the Cosmos protocol server did not answer within {START_TIMEOUT:.0f} s: {output}",
                    pytrace=False)

    def output(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                return handle.read()[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:
            os.unlink(self.log_path)
        except OSError:
            pass


_server: CosmosServer | None = None
_lock = threading.Lock()


def session_server(request) -> CosmosServer:
    """The one server of this test session, started on first use and stopped when the session ends."""
    global _server
    # Unverified TLS is deliberate (a self-signed local server); a warning per request would bury real ones.
    # pytest restores the warning filters after each test, so this lasts for the calling test only.
    warnings.filterwarnings("ignore", category=InsecureRequestWarning)
    with _lock:
        if _server is None or _server.process.poll() is not None:
            _server = CosmosServer.start()
            request.config.add_cleanup(_stop_session_server)
        return _server


def _stop_session_server() -> None:
    global _server
    with _lock:
        if _server is not None:
            _server.stop()
            _server = None


@pytest.fixture(scope="session")
def cosmos_server(request) -> CosmosServer:
    """Session-scoped fixture for test modules that import it."""
    return session_server(request)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

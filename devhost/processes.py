"""Running the local host, in FUNCTIONS_WORKER_PROCESS_COUNT processes as the Functions host runs that many language
worker processes: one Python process is held to about one core by the GIL, several are not. They all listen on the
one port (SO_REUSEPORT: the kernel spreads the connections over them). The primary, the process that calls
`serve`, also runs the Cosmos DB trigger and the timers; the others serve HTTP only, since a second change feed
pump would deliver every change twice.

The primary starts the others once it listens: fresh interpreters (never fork: it has threads and SQLite
connections) that import the app from its import spec, with the primary's environment (the settings) and keys.
Each child holds one end of a socket pair and the primary the other: the child writes one byte once it listens,
and each side reads EOF when the other has gone, SIGKILL included. So children stop with the primary however it
ends, and the primary replaces a child that dies."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Awaitable, Callable

from aiohttp import web

from devhost.server import HostKeys, LocalHost, load_app
from shared import bootstrap

log = logging.getLogger("devhost")
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
READY = b"r"
_CHILD = "import sys; from devhost.processes import child_main; child_main(*sys.argv[1:])"


def serve(spec: str, host: str = "127.0.0.1", port: int = 7071, *, keys: HostKeys, route_prefix: str = "api",
          on_ready: Callable[[LocalHost], None] | None = None) -> None:
    """Serve the app that `spec` ("module:attribute") names until SIGINT or SIGTERM; `on_ready` runs once every
    process listens."""
    settings = bootstrap.settings()
    extra = settings.functions_worker_process_count - 1
    if extra:
        socket.create_server((host, port)).close()   # a port in use must fail here: SO_REUSEPORT would share it
    cpus = cpu_placement(extra + 1)
    pin_to(cpus[0])   # before the app starts any thread: threads inherit it
    local = LocalHost(load_app(spec), bootstrap.store(), settings, keys, route_prefix)
    children = WorkerProcesses(spec, host, port, keys, route_prefix, cpus[1:])

    async def primary() -> None:
        await children.start(extra)
        if on_ready:
            on_ready(local)
        await children.supervise()

    try:
        asyncio.run(_serve(local, host, port, bool(extra), primary))
    finally:
        children.stop()


def child_main(spec: str, host: str, port: str, route_prefix: str, log_level: str, cpu: str, fd: str) -> None:
    """A worker process: HTTP only, until SIGTERM or the primary's end."""
    pin_to(None if cpu == "-" else int(cpu))
    # Ctrl-C reaches the whole process group; the primary stops its children itself, once it no longer replaces them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=int(log_level), format=LOG_FORMAT)
    channel = socket.socket(fileno=int(fd))
    channel.setblocking(False)
    settings = bootstrap.settings()
    bootstrap.leave_local_training_to_the_timer()   # the timer runs in the primary
    local = LocalHost(load_app(spec), bootstrap.store(), settings, HostKeys.from_settings(settings), route_prefix,
                      triggers=False)

    async def child() -> None:
        with contextlib.suppress(OSError):   # the primary may have gone while we started
            await asyncio.get_running_loop().sock_sendall(channel, READY)
        await _receive(channel)

    asyncio.run(_serve(local, host, int(port), True, child, signals=(signal.SIGTERM,)))


async def _serve(local: LocalHost, host: str, port: int, reuse_port: bool, body: Callable[[], Awaitable[None]],
                 signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
    """Listen, then run `body` until it returns or a signal cancels it; then shut down gracefully."""
    runner = local.runner()
    await runner.setup()
    main, loop = asyncio.current_task(), asyncio.get_running_loop()

    def stop() -> None:
        for signum in signals:   # once: a second signal (a shell or `timeout` may send two) must not cut it short
            loop.add_signal_handler(signum, lambda: None)
        main.cancel()

    for signum in signals:
        loop.add_signal_handler(signum, stop)
    try:
        await web.TCPSite(runner, host, port, reuse_port=reuse_port).start()
        await body()
    except asyncio.CancelledError:
        main.uncancel()   # a signal: a normal stop
    finally:
        await runner.cleanup()


class WorkerProcesses:
    """The primary's HTTP-only children."""

    def __init__(self, spec: str, host: str, port: int, keys: HostKeys, route_prefix: str,
                 cpus: list[int | None]):
        self.cpus = cpus
        self.command = [sys.executable, "-c", _CHILD, spec, host, str(port), route_prefix,
                        str(logging.getLogger().getEffectiveLevel())]
        # Settings come from the environment; the keys may be random ones, so hand them over. The app module must
        # be importable from where the primary found it (its script's folder), not only from the working folder.
        path = [os.path.abspath(sys.path[0]), os.environ.get("PYTHONPATH", "")]
        self.env = dict(os.environ, LOCAL_FUNCTION_KEY=keys.function_key, LOCAL_ADMIN_KEY=keys.admin_key,
                        PYTHONPATH=os.pathsep.join(filter(None, path)))
        self.slots: list[tuple[subprocess.Popen, socket.socket]] = []

    async def start(self, count: int) -> None:
        """Start `count` children and wait until each listens."""
        self.slots = [self._spawn(slot) for slot in range(count)]
        for process, channel in self.slots:
            if await _receive(channel) != READY:
                raise RuntimeError(f"worker process {process.pid} exited while starting, code {process.wait()}")

    async def supervise(self) -> None:
        """Until cancelled: replace a child that exits. When cancelled, tell them all to stop."""
        try:
            await asyncio.gather(asyncio.get_running_loop().create_future(),
                                 *(self._watch(slot) for slot in range(len(self.slots))))
        finally:
            self._terminate()   # now, so they stop while the primary does

    def stop(self, timeout: float = 10) -> None:
        """Stop and reap every child: SIGTERM, then SIGKILL for one still there after `timeout` seconds."""
        self._terminate()
        deadline = time.monotonic() + timeout
        for process, channel in self.slots:
            try:
                process.wait(max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            channel.close()

    async def _watch(self, slot: int) -> None:
        delay = 1
        while True:
            process, channel = self.slots[slot]
            await _receive(channel)   # EOF: it exited
            channel.close()
            log.error("worker process %d exited with code %s; starting another in %d s", process.pid,
                      process.wait(), delay)
            await asyncio.sleep(delay)
            self.slots[slot] = self._spawn(slot)
            # One that cannot even start is retried less and less often.
            delay = 1 if await _receive(self.slots[slot][1]) == READY else min(delay * 2, 60)

    def _spawn(self, slot: int) -> tuple[subprocess.Popen, socket.socket]:
        ours, theirs = socket.socketpair()
        cpu = "-" if self.cpus[slot] is None else str(self.cpus[slot])
        with theirs:   # the child's end stays open only in the child, so its exit closes it
            process = subprocess.Popen([*self.command, cpu, str(theirs.fileno())], env=self.env,
                                       pass_fds=[theirs.fileno()])
        ours.setblocking(False)
        return process, ours

    def _terminate(self) -> None:
        for process, _ in self.slots:
            if process.poll() is None:
                process.terminate()


def cpu_placement(processes: int) -> list[int | None]:
    """One CPU per process when there are several and no more processes than CPUs, else no pinning.

    Why: each process hands every batch between its event loop and its scoring thread; on one CPU that
    hand-off is a cheap wake-up, across CPUs an inter-processor interrupt (on a 2-vCPU VM, a thread
    ping-pong cost 132 µs of CPU across CPUs against 34 µs on one)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not 1 < processes <= len(cpus):
        return [None] * processes
    return cpus[:processes]


def pin_to(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


async def _receive(channel: socket.socket) -> bytes:
    """One byte from the other end; b"" once the process there has exited."""
    try:
        return await asyncio.get_running_loop().sock_recv(channel, 1)
    except OSError:   # ECONNRESET: it exited with our byte unread
        return b""

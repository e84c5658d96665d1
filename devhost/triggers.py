"""Non-HTTP triggers on the local host: the Cosmos DB trigger fed from the SQLite change feed, and timers.

Delivery follows the Functions host (REFERENCE.md): changes in write order, at least once, a checkpoint (lease
document) written only after the function returns; on an exception the function's retry policy runs, and
when it is exhausted (or there is none) the checkpoint still advances and the batch is skipped."""
from __future__ import annotations

import asyncio
import logging
import os
import re
from datetime import datetime, timezone

import azure.functions as func
from azure.functions.timer import TimerRequest

from shared.domain.ncrontab import Schedule
from shared.domain.errors import NotFoundError
from shared.domain.ports import LEASES

log = logging.getLogger("devhost")
_SETTING_REF = re.compile(r"%([^%]+)%")


def resolve(value: str | None) -> str | None:
    """`%NAME%` app-setting references, resolved the way the host does."""
    if value is None:
        return None
    return _SETTING_REF.sub(lambda match: os.environ.get(match.group(1), ""), value)


def binding_settings(function) -> dict:
    return function.get_trigger().get_dict_repr()


def retry_policy(function) -> dict | None:
    policy = function.get_settings_dict("retry_policy")
    return policy or None


async def call_with_retries(loop, executor, function, argument, name: str) -> bool:
    """Run the user function in the worker pool; apply its retry policy. True when it finally succeeded."""
    policy = retry_policy(function)
    attempts = 1 + (int(policy.get("max_retry_count", 0)) if policy else 0)
    delay = _seconds(policy.get("minimum_interval") or policy.get("delay_interval") or "00:00:01") if policy else 0
    ceiling = _seconds(policy.get("maximum_interval") or "00:05:00") if policy else 0
    for attempt in range(1, attempts + 1):
        try:
            await loop.run_in_executor(executor, function.get_user_function(), argument)
            return True
        except Exception:  # noqa: BLE001 - the host logs and carries on, as Azure's does
            log.exception("%s failed (attempt %d of %d)", name, attempt, attempts)
            if attempt < attempts:
                await asyncio.sleep(delay)
                if policy.get("strategy") == "exponential_backoff":
                    delay = min(delay * 2, ceiling)
    return False


class ChangeFeedPump:
    """Feeds one cosmos_db_trigger function from the SQLite store's change feed."""

    def __init__(self, function, store, container_names: dict[str, str]):
        settings = binding_settings(function)
        self.function = function
        self.name = function.get_function_name()
        self.store = store
        real_name = resolve(settings.get("containerName"))
        logical = {real: logical for logical, real in container_names.items()}
        self.container = logical.get(real_name, real_name)
        prefix = resolve(settings.get("leaseContainerPrefix")) or ""
        self.lease_id = f"{prefix}{self.name}"
        self.batch_size = int(settings.get("maxItemsPerInvocation") or 100)
        self.poll_delay = int(settings.get("feedPollDelay") or 5000) / 1000
        self.start_from_beginning = bool(settings.get("startFromBeginning"))

    def _checkpoint(self) -> int:
        try:
            return int(self.store.read(LEASES, self.lease_id, self.lease_id)["continuation"])
        except NotFoundError:
            if self.start_from_beginning:
                return 0
            return self.store.latest_sequence(self.container)

    async def run(self, loop, executor, stop: asyncio.Event) -> None:
        checkpoint = await loop.run_in_executor(executor, self._checkpoint)
        # Like the Functions host, record where the feed starts at once, so a restart before the first
        # batch does not skip what arrived meanwhile.
        await loop.run_in_executor(executor, self._save, checkpoint)
        while not stop.is_set():
            changes = await loop.run_in_executor(executor, self.store.read_changes, self.container, checkpoint,
                                                 self.batch_size)
            if not changes:
                await _sleep_or_stop(stop, self.poll_delay)
                continue
            documents = func.DocumentList([func.Document.from_dict(doc) for _, doc in changes])
            await call_with_retries(loop, executor, self.function, documents, self.name)
            checkpoint = changes[-1][0]
            await loop.run_in_executor(executor, self._save, checkpoint)

    def _save(self, checkpoint: int) -> None:
        self.store.upsert(LEASES, {"id": self.lease_id, "continuation": checkpoint, "owner": "devhost"})


class TimerRunner:
    def __init__(self, function):
        settings = binding_settings(function)
        self.function = function
        self.name = function.get_function_name()
        self.schedule = Schedule(resolve(settings["schedule"]))
        self.run_on_startup = bool(settings.get("runOnStartup"))

    async def run(self, loop, executor, stop: asyncio.Event) -> None:
        if self.run_on_startup:
            await call_with_retries(loop, executor, self.function, TimerRequest(past_due=False), self.name)
        while not stop.is_set():
            now = datetime.now(timezone.utc)
            due = self.schedule.next_after(now)
            await _sleep_or_stop(stop, (due - now).total_seconds())
            if stop.is_set():
                return
            late = (datetime.now(timezone.utc) - due).total_seconds() > 5
            await call_with_retries(loop, executor, self.function, TimerRequest(past_due=late), self.name)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0))
    except asyncio.TimeoutError:
        pass


def _seconds(text: str) -> float:
    hours, minutes, seconds = (float(part) for part in str(text).split(":"))
    return hours * 3600 + minutes * 60 + seconds

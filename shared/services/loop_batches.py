"""Work asked for on an event loop, done in batches in one thread: requests that arrive while a batch is running
wait, and the next pass takes all of them in one call. No request waits for a batch to fill: a lone request
goes at once, so this only changes anything under concurrent load.

Why: on a small VM a hand-off to a thread and the loop's wake-up after it cost more than the work of one
request (scoring a batch row, writing an order in a group commit), so they are paid once per batch."""
from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class LoopBatches(Generic[Item, Result]):
    """A subclass says how a batch is done (`run_batch(items) -> results`, one result per item, in order), in
    which executor (`batch_executor`) and how many at most (`max_batch`). A result that is an exception is
    raised to that item's caller alone; when `run_batch` itself raises, every caller of the batch gets the
    error. Used from one event loop at a time. (A base class, not a stored callback: a callback bound to its
    owner would make a reference cycle, which a model frozen by gc.freeze() would never be freed from.)"""

    batch_executor: Executor
    max_batch: int

    def __init__(self):
        self._waiting: list[tuple[Item, asyncio.Future]] = []
        self._task: asyncio.Task | None = None

    def run_batch(self, items: list[Item]) -> list:
        raise NotImplementedError

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((item, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run_waiting())
        return await future

    async def _run_waiting(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch, self._waiting = self._waiting[:self.max_batch], self._waiting[self.max_batch:]
            try:
                results = await loop.run_in_executor(self.batch_executor, self.run_batch, [item for item, _ in batch])
            except Exception as error:  # noqa: BLE001 - hand the failure to every caller of the batch
                results = [error] * len(batch)
            for (_, future), result in zip(batch, results):
                if future.done():      # its caller was cancelled
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

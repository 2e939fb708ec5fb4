"""Shutdown steps that always end: bounded, never raising, saying in the log what they gave up.

aiokafka raises ``CancelledError`` out of ``stop()`` after a broker loss (``Fetcher.close()``
awaits a task it just cancelled), and its requests to a dead broker wait for their own
timeouts. A stop path that catches only ``Exception`` then ends cancelled, half done; one that
awaits without a bound hangs. Every step of `Publisher.stop` and `Consumer.stop` runs through
`run_step`: its own task, a bound, and a log line for what did not finish.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Awaitable, Sequence

    from news_log import Logger

__all__ = ["end_tasks", "run_step"]

_CANCEL_GRACE: Final = 1.0  # seconds a timed-out step gets to react to its cancellation
_END_TASK_RECHECK: Final = 0.5  # end_tasks(): cancel again a task still running after this
_END_TASK_GIVE_UP: Final = 10.0  # end_tasks(): leave a task that ignores cancellation this long


async def run_step(
    step: Awaitable[Any], *, timeout: float, what: str, log: Logger, **fields: Any
) -> bool:
    """Run one shutdown step until it ends or ``timeout`` seconds pass; True if it succeeded.

    The step runs in a task of its own, so an exception it raises, ``CancelledError``
    included, is its failure, not the caller's: it is logged (``gave_up`` names the step) and
    the caller goes on. Only the caller's own cancellation propagates (the step is cancelled
    with it).
    """
    task = asyncio.ensure_future(step)
    try:
        done, _ = await asyncio.wait((task,), timeout=timeout)
    except BaseException:  # our own cancellation: take the step down with us
        task.cancel()
        raise
    if not done:
        task.cancel()
        try:
            await asyncio.wait((task,), timeout=_CANCEL_GRACE)
        finally:
            log.error(
                "shutdown step did not finish in time; given up",
                gave_up=what,
                timeout_s=timeout,
                **fields,
            )
        _silence(task)
        return False
    if task.cancelled():
        log.error(
            "shutdown step was cancelled inside the Kafka client; going on",
            gave_up=what,
            error="CancelledError",
            **fields,
        )
        return False
    error = task.exception()
    if error is not None:
        log.error(
            "shutdown step failed; going on",
            gave_up=what,
            error=f"{type(error).__name__}: {error}",
            **fields,
        )
        return False
    return True


def _silence(task: asyncio.Future[Any]) -> None:
    """Keep asyncio from logging "exception was never retrieved" for an abandoned step."""
    if task.done():
        if not task.cancelled():
            task.exception()
    else:
        task.add_done_callback(_silence)


async def end_tasks(tasks: Sequence[asyncio.Task[Any]], *, log: Logger) -> None:
    """Cancel a consumer's ``tasks``; wait until they are done, cancelling again if one missed it.

    A cancellation can be lost (``asyncio.wait_for`` on Python 3.11 swallows one that lands
    as its awaitable completes, and so may third-party code); the loops also watch a stopping
    flag, so a second cancel, or the flag, ends them. A task that still runs after 10 s
    (e.g. a handler that swallows every cancellation) is left running, and logged.
    """
    pending = {task for task in tasks if not task.done()}
    deadline = time.monotonic() + _END_TASK_GIVE_UP
    while pending:
        if time.monotonic() > deadline:
            log.error(
                "consumer tasks ignored cancellation; left running",
                gave_up="tasks",
                tasks=sorted(task.get_name() for task in pending),
                waited_s=_END_TASK_GIVE_UP,
            )
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=_END_TASK_RECHECK)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.warning(
                "consumer task failed while stopping",
                error=f"{type(task.exception()).__name__}: {task.exception()}",
            )

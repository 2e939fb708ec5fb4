"""Where events go: a batching JSON writer, a rich console writer, and an in-memory capture.

The JSON writer is the production path. A log call encodes its event with msgspec straight
into a shared ``bytearray`` under a lock (encoding is a few hundred nanoseconds; the lock is
uncontended in practice) and returns. A background thread swaps the buffer out under the same
lock and writes it in one syscall. Appending and swapping under one lock is what makes it
lossless: no producer can append to a buffer the writer has already taken.

Nothing is dropped: when more than ``max_buffer_bytes`` are waiting, loggers wait for the
writer (back-pressure) instead of discarding lines. Forked children (Robyn's worker processes)
get a fresh lock, an empty buffer (the parent writes what it had) and their own writer thread.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import msgspec

from news_log._render import enc_hook, json_safe

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CaptureSink", "ConsoleSink", "JSONSink", "Output", "Sink", "close_all"]


class Sink(Protocol):
    """Receives finished events (dicts of JSON-ready values)."""

    def emit(self, event: dict[str, Any]) -> None:
        """Accept one event; must not block on I/O and must not raise."""

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything accepted so far is written; return False on timeout."""

    def close(self, timeout: float | None = None) -> None:
        """Flush and stop background work (a later ``emit`` starts it again)."""


class Output:
    """A byte destination: ``stderr``, ``stdout`` (looked up at write time) or an appended file."""

    __slots__ = ("_fd", "_path", "target")

    def __init__(self, target: str) -> None:
        self.target = target
        self._path = None if target in ("stderr", "stdout") else target
        self._fd: int | None = None

    def isatty(self) -> bool:
        """Return whether the destination is an interactive terminal."""
        if self._path is not None:
            return False
        stream = sys.stderr if self.target == "stderr" else sys.stdout
        try:
            return bool(stream.isatty())
        except (AttributeError, ValueError):
            return False

    def text_stream(self) -> Any:
        """Return the text stream for console rendering (files are opened on demand)."""
        if self._path is None:
            return sys.stderr if self.target == "stderr" else sys.stdout
        return open(self._path, "a", encoding="utf-8")

    def write(self, data: bytes | bytearray) -> None:
        """Write all of ``data``; errors (closed pipe, full disk) are reported once, not raised."""
        try:
            if self._path is not None:
                if self._fd is None:
                    self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view) :]
                return
            stream = sys.stderr if self.target == "stderr" else sys.stdout
            raw = getattr(stream, "buffer", None)
            if raw is not None:
                stream.flush()  # keep order with text already written to the stream
                raw.write(data)
                raw.flush()
            else:  # a text-only stream (pytest capture, StringIO)
                stream.write(bytes(data).decode("utf-8", "replace"))
                stream.flush()
        except Exception as exc:  # noqa: BLE001 - logging must never take the service down
            _report_once(f"news-log: cannot write to {self.target}: {exc!r}")

    def close(self) -> None:
        """Close the file descriptor, if one was opened."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)

    def reset_after_fork(self) -> None:
        """Forget the inherited descriptor's ownership (the child reopens lazily)."""
        self._fd = None


_reported: set[str] = set()


def _report_once(message: str) -> None:
    if message in _reported:
        return
    _reported.add(message)
    try:
        stream = sys.__stderr__
        if stream is not None:
            stream.write(message + "\n")
            stream.flush()
    except Exception:  # noqa: BLE001, S110 - nowhere left to report to
        pass


class _Threaded:
    """Shared machinery: a buffer guarded by one lock, drained by one background thread."""

    _live: ClassVar[weakref.WeakSet[_Threaded]] = weakref.WeakSet()

    def __init__(self, *, flush_interval: float, max_buffer_bytes: int) -> None:
        self._interval = flush_interval
        self._max = max_buffer_bytes
        self._init_sync()
        _Threaded._live.add(self)

    def _init_sync(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._taken = 0  # batches swapped out of the buffer so far
        self._done = 0  # batches written so far
        self._reset_buffer()

    # -- subclass hooks ---------------------------------------------------------------
    def _reset_buffer(self) -> None:
        raise NotImplementedError

    def _take(self) -> tuple[Any, int]:
        """Swap the buffer out (lock held); return it and its size in bytes (or items)."""
        raise NotImplementedError

    def _write(self, batch: Any) -> None:
        raise NotImplementedError

    def _size(self) -> int:
        raise NotImplementedError

    # -- machinery ----------------------------------------------------------------------
    def _after_append(self, was_empty: bool) -> None:
        """Slow path after an append (lock held): wake the writer, apply back-pressure."""
        if was_empty:
            thread = self._thread
            if thread is None or not thread.is_alive():
                self._start()
            self._wake.set()
        if self._size() > self._max and threading.current_thread() is not self._thread:
            self._wake.set()
            deadline = time.monotonic() + 30.0
            while self._size() > self._max and time.monotonic() < deadline:
                self._changed.wait(0.05)

    def _start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="news-log-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._interval and not self._stopping:
                time.sleep(self._interval)  # let a burst gather into one write
            with self._lock:
                self._wake.clear()
                batch, size = self._take()
                if size:
                    self._taken += 1
                    number = self._taken
                stopping = self._stopping
                self._changed.notify_all()  # producers waiting on a full buffer
            if size:
                self._write(batch)
                with self._lock:
                    self._done = number
                    self._changed.notify_all()
            with self._lock:
                if stopping and self._size() == 0:
                    self._thread = None
                    return

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event accepted before this call is written."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            # Lines in the buffer leave with the next batch; a batch already taken may still be
            # on its way to the file: wait for whichever is the last one holding our lines.
            target = self._taken + 1 if self._size() else self._taken
            if self._done >= target:
                return True
            if self._thread is None or not self._thread.is_alive():
                self._start()
            self._wake.set()
            while self._done < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._changed.wait(remaining if remaining is not None else 0.5)
                self._wake.set()
        return True

    def close(self, timeout: float | None = None) -> None:
        """Write everything pending and stop the writer thread."""
        self.flush(timeout)
        with self._lock:
            thread = self._thread
            if thread is None:
                return
            self._stopping = True
            self._wake.set()
        if thread is not threading.current_thread():
            thread.join(timeout)

    def _after_fork_in_child(self) -> None:
        self._init_sync()


def close_all(timeout: float | None = 10.0) -> None:
    """Flush and stop every live threaded sink of this process."""
    for sink in list(_Threaded._live):
        sink.close(timeout)


class _ForkAnchor:
    """A weak-referenceable object that multiprocessing's after-fork registry can hold."""


_anchor = _ForkAnchor()


def _register_child_exit_flush() -> None:
    # A child made by multiprocessing (or Robyn's ``multiprocess``) ends with os._exit(),
    # which skips atexit: ask its exit machinery to flush our buffers first. Its bootstrap
    # clears inherited finalizers and then runs after-fork callbacks, so register one of those.
    for name in ("multiprocessing.util", "multiprocess.util"):
        util = sys.modules.get(name)
        if util is None:
            continue

        def _on_child(_obj: object, util: Any = util) -> None:
            util.Finalize(None, close_all, exitpriority=-1000)

        util.register_after_fork(_anchor, _on_child)


def _reinit_after_fork() -> None:
    for sink in list(_Threaded._live):
        sink._after_fork_in_child()
    try:
        _register_child_exit_flush()
    except Exception as exc:  # noqa: BLE001 - never break a fork over logging
        _report_once(f"news-log: cannot hook child exit: {exc!r}")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)


class JSONSink(_Threaded):
    """Encode events as JSON lines with msgspec and write them in batches from a thread."""

    def __init__(
        self, output: Output, *, flush_interval: float = 0.005, max_buffer_bytes: int = 1 << 24
    ) -> None:
        self._output = output
        self._encode_into = msgspec.json.Encoder(enc_hook=enc_hook).encode_into
        super().__init__(flush_interval=flush_interval, max_buffer_bytes=max_buffer_bytes)

    def _reset_buffer(self) -> None:
        self._buf = bytearray()

    def _size(self) -> int:
        return len(self._buf)

    def _take(self) -> tuple[bytearray, int]:
        buf = self._buf
        self._buf = bytearray()
        return buf, len(buf)

    def _write(self, batch: bytearray) -> None:
        self._output.write(batch)

    def emit(self, event: dict[str, Any]) -> None:
        """Encode ``event`` as one JSON line into the shared buffer."""
        with self._lock:
            buf = self._buf
            start = len(buf)
            try:
                self._encode_into(event, buf, -1)
            except Exception:  # noqa: BLE001 - e.g. a dict with unencodable keys
                self._encode_fallback(event, buf, start)
            buf.append(10)
            if start == 0 or start > self._max:
                self._after_append(start == 0)

    def _encode_fallback(self, event: dict[str, Any], buf: bytearray, start: int) -> None:
        del buf[start:]
        try:
            self._encode_into(json_safe(event), buf, -1)
        except Exception:  # noqa: BLE001
            del buf[start:]
            self._encode_into({"msg": str(event.get("msg")), "error": "unloggable"}, buf, -1)

    def emit_raw(self, line: bytes) -> None:
        """Append an already encoded line (without its newline)."""
        with self._lock:
            buf = self._buf
            start = len(buf)
            buf += line
            buf.append(10)
            if start == 0 or start > self._max:
                self._after_append(start == 0)

    def close(self, timeout: float | None = None) -> None:
        """Write everything pending, stop the writer and close the file."""
        super().close(timeout)
        self._output.close()

    def _after_fork_in_child(self) -> None:
        super()._after_fork_in_child()
        self._output.reset_after_fork()


class ConsoleSink(_Threaded):
    """Render events for humans with rich: coloured levels, aligned fields, rich tracebacks."""

    def __init__(self, output: Output, *, flush_interval: float = 0.005) -> None:
        self._output = output
        self._console: Any = None
        super().__init__(flush_interval=flush_interval, max_buffer_bytes=1 << 62)

    def _reset_buffer(self) -> None:
        self._events: list[dict[str, Any]] = []

    def _size(self) -> int:
        return len(self._events)

    def _take(self) -> tuple[list[dict[str, Any]], int]:
        events = self._events
        self._events = []
        return events, len(events)

    def emit(self, event: dict[str, Any]) -> None:
        """Queue ``event`` for the rendering thread."""
        with self._lock:
            was_empty = not self._events
            self._events.append(event)
            self._after_append(was_empty)

    def _write(self, batch: list[dict[str, Any]]) -> None:
        try:
            from news_log._console import render_events

            if self._console is None:
                from rich.console import Console

                self._console = Console(file=self._output.text_stream(), soft_wrap=True)
            render_events(self._console, batch)
        except Exception as exc:  # noqa: BLE001
            _report_once(f"news-log: console rendering failed: {exc!r}")


class CaptureSink:
    """Keep events in a list (``news_log.testing.capture_logs``); synchronous, thread-safe."""

    def __init__(self, on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._on_event = on_event

    def emit(self, event: dict[str, Any]) -> None:
        """Store a JSON round-trip copy of ``event``, exactly what the JSON output would hold."""
        encoded = msgspec.json.encode(json_safe(event), enc_hook=enc_hook)
        copy = msgspec.json.decode(encoded)
        with self._lock:
            self.events.append(copy)
        if self._on_event is not None:
            self._on_event(copy)

    def flush(self, timeout: float | None = None) -> bool:
        """Nothing to flush: events are stored synchronously."""
        return True

    def close(self, timeout: float | None = None) -> None:
        """Nothing to close."""

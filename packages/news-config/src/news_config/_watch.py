"""`watch`: settings that follow their files while the service runs (hot reload).

A `Watcher` loads the settings once (as `load` does), then re-reads the ``.env`` file and the
secrets directory whenever they change, validates the whole Struct tree again and swaps
`Watcher.current` in one assignment. Which fields may change live is marked per field
(``msgspec.Meta(extra={"live": True})``, see `news_config._schema`):

- a change of live fields becomes the new `Watcher.current`, logged, and handed to ``on_change``
  (where the service applies it: log levels, CORS, rate limits);
- a change of any other field is logged as needing a restart (once per new value) and kept out of
  `Watcher.current`, which always says what the process runs with;
- a change that fails validation keeps the running settings; each error is logged once (again
  only after the files were valid in between);
- an ``on_change`` that raises rolls the change back (``on_change`` is called with the reverse).

What wakes a reload:

- file events from watchfiles (``pip install 'news-config[watch]'``), on the *directories* that
  hold the ``.env`` file and the secrets: Kubernetes updates a mounted ConfigMap or Secret by
  renaming a fresh ``..data`` symlink over the old one, an event on the directory that a watch of
  the file itself misses;
- a poll of the files' identities (``stat`` through the symlinks: inode, size, mtime) every
  ``poll_interval`` seconds, always, so that filesystems that give no events (NFS, some bind
  mounts) and a missing watchfiles still reload;
- ``SIGHUP`` (when the watcher is started on the main thread), and `Watcher.reload`.

The process environment cannot change from outside the process: a variable set there shadows the
files (precedence as in `load`) and never changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import signal
import threading
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, NamedTuple, TypeVar

import msgspec

from news_config._errors import ConfigError, ConfigErrorItem, SourceError
from news_config._loader import resolve, strict_from_env
from news_config._schema import Section, plan

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping
    from types import FrameType, TracebackType

__all__ = ["Change", "Reload", "Watcher", "watch"]

T = TypeVar("T", bound=msgspec.Struct)

Backend = Literal["auto", "events", "poll"]
_log = logging.getLogger("news_config")
_MASK: Final = "<secret>"
_SHOWN_CHARS: Final = 80
_STOP_TIMEOUT: Final = 5.0


class Change(NamedTuple):
    """One setting whose value differs between two loads.

    Attributes:
        env_name: Its variable (``NEWSROOM_LOG__LEVEL``); for an optional section that appeared
            or went away, ``NEWSROOM_TLS__*``.
        old: The value the process runs with.
        new: The value the files now give.
        live: Whether it can change while running (else it needs a restart).
        secret: Whether its values must not be shown (`message` masks them): a secret type,
            or a value read from a secret file (now or before).
    """

    env_name: str
    old: Any
    new: Any
    live: bool
    secret: bool = False

    @property
    def message(self) -> str:
        """``NEWSROOM_LOG__LEVEL: 'info' -> 'debug'`` (secrets as ``<secret>``)."""
        return f"{self.env_name}: {self._show(self.old)} -> {self._show(self.new)}"

    def _show(self, value: Any) -> str:
        if self.secret:
            return _MASK
        text = repr(value)
        if len(text) > _SHOWN_CHARS:
            text = text[: _SHOWN_CHARS - 3] + "..."
        return text


class Reload(NamedTuple, Generic[T]):
    """What one reload found; ``on_change`` gets one whenever live settings changed.

    Attributes:
        old: The settings before.
        new: The settings after (`Watcher.current`): equal to ``old`` when nothing live changed
            or the change was rejected.
        changes: The live settings that changed, now in effect.
        restart: The settings whose change needs a restart (not in effect).
        errors: Why the change was rejected (invalid values, unreadable files, a failed
            ``on_change``); empty when it was not.
    """

    old: T
    new: T
    changes: tuple[Change, ...] = ()
    restart: tuple[Change, ...] = ()
    errors: tuple[ConfigErrorItem, ...] = ()

    @property
    def applied(self) -> bool:
        """Whether live settings changed and are now in effect."""
        return bool(self.changes) and not self.errors


def _is_struct(value: Any, section: Section) -> bool:
    return isinstance(value, section.cls)


def _secret_section(section: Section) -> bool:
    return any(leaf.sensitive for leaf in section.leaves())


def diff(section: Section, old: Any, new: Any) -> list[Change]:
    """Every setting under *section* whose value differs between *old* and *new*."""
    out: list[Change] = []
    for child in section.children:
        before, after = getattr(old, child.name), getattr(new, child.name)
        if isinstance(child, Section):
            if _is_struct(before, child) and _is_struct(after, child):
                out.extend(diff(child, before, after))
            elif before != after:  # an optional section set or unset
                secret = _secret_section(child)
                out.append(Change(f"{child.env_prefix}*", before, after, child.live, secret))
        elif before != after:
            out.append(Change(child.env_name, before, after, child.live, child.sensitive))
    return out


def merge(section: Section, running: Any, wanted: Any) -> Any:
    """*wanted* with every field that is not live taken from *running* (what can be in effect).

    Raises:
        ValueError, TypeError: The Struct's own checks refuse the mix.
    """
    kwargs: dict[str, Any] = {}
    for child in section.children:
        before, after = getattr(running, child.name), getattr(wanted, child.name)
        if isinstance(child, Section) and _is_struct(before, child) and _is_struct(after, child):
            kwargs[child.name] = merge(child, before, after)
        else:
            kwargs[child.name] = after if child.live else before
    return section.cls(**kwargs)


def _stat(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)  # through symlinks: a swapped ..data gives other inodes
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def signature(env_file: str | None, secrets_dir: str | None) -> tuple[Any, ...]:
    """The identity of every file a reload reads; it differs once any of them changed."""
    parts: list[Any] = []
    if env_file is not None:
        parts.append(_stat(env_file))
    if secrets_dir is not None:
        try:
            names = sorted(os.listdir(secrets_dir))
        except OSError:
            names = []
        parts.append(_stat(secrets_dir))
        parts.extend((name, _stat(os.path.join(secrets_dir, name))) for name in names)
    return tuple(parts)


class Watcher(Generic[T]):
    """Settings kept in step with their files; made by `watch` (see the module docstring).

    `current` is the settings the process runs with. `start` begins watching (file events,
    polling, SIGHUP) and `stop` ends it: the async ``start()``/``stop()`` shape that
    ``app.manage(watcher)`` in news-http takes, and an async context manager.
    """

    def __init__(
        self,
        schema: type[T],
        *,
        prefix: str = "",
        env_file: str | os.PathLike[str] | None = ".env",
        secrets_dir: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        strict: bool | None = None,
        on_change: Callable[[Reload[T]], Awaitable[None] | None] | None = None,
        poll_interval: float = 2.0,
        backend: Backend = "auto",
        sighup: bool = True,
    ) -> None:
        if not poll_interval > 0:
            raise ValueError(f"poll_interval must be above 0 seconds, not {poll_interval!r}")
        if backend not in {"auto", "events", "poll"}:
            raise ValueError(f"backend must be 'auto', 'events' or 'poll', not {backend!r}")
        self.schema = schema
        self.prefix = prefix
        self.env_file = None if env_file is None else os.path.abspath(os.fspath(env_file))
        self.secrets_dir = None if secrets_dir is None else os.path.abspath(os.fspath(secrets_dir))
        self._environ = environ
        env = os.environ if environ is None else environ
        self.strict = strict_from_env(env) if strict is None else strict
        self.on_change = on_change
        self.poll_interval = poll_interval
        self.sighup = sighup
        self.backend: Literal["events", "poll"] = "poll"
        if backend != "poll":
            try:
                import watchfiles  # noqa: F401 - only whether it is there
            except ModuleNotFoundError as exc:
                if backend == "events":
                    raise ModuleNotFoundError(
                        "file events need watchfiles: pip install 'news-config[watch]'",
                        name="watchfiles",
                    ) from exc
            else:
                self.backend = "events"
        self._tree = plan(schema, prefix)
        self._warned: set[str] = set()
        self._logged: set[str] = set()
        self._errors: tuple[ConfigErrorItem, ...] = ()
        self._pending: dict[str, Change] = {}
        self._hidden: set[str] = set()
        value, errors = self._read()
        if errors:
            raise ConfigError(errors, schema_name=schema.__qualname__)
        self._current: T = value
        self._signature = signature(self.env_file, self.secrets_dir)
        self._lock: asyncio.Lock | None = None
        self._wake: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous_hup: Any = None
        self._hup_installed = False

    # -- what it holds ---------------------------------------------------------------------------

    @property
    def current(self) -> T:
        """The settings in effect (replaced as a whole, never mutated)."""
        return self._current

    @property
    def pending_restart(self) -> tuple[Change, ...]:
        """Settings changed in the files that take effect only after a restart."""
        return tuple(self._pending.values())

    @property
    def errors(self) -> tuple[ConfigErrorItem, ...]:
        """Why the files' current content is rejected; empty when it is in effect."""
        return self._errors

    @property
    def running(self) -> bool:
        """Whether the watcher is started."""
        return bool(self._tasks)

    # -- reading ---------------------------------------------------------------------------------

    def _read(self) -> tuple[Any, list[ConfigErrorItem]]:
        """One full pass over the sources: the value, or the errors (unknowns warned once).

        Raises:
            SourceError: A file exists but cannot be read.
        """
        result = resolve(
            self.schema,
            prefix=self.prefix,
            env_file=self.env_file,
            secrets_dir=self.secrets_dir,
            environ=self._environ,
        )
        # Values from secret files are never shown, whatever the field's type (as in errors).
        self._hidden |= {row.env_name for row in result.rows if row.secret}
        errors = list(result.errors)
        if self.strict:
            errors.extend(result.unknown)
        else:
            for item in result.unknown:
                if item.message not in self._warned:
                    self._warned.add(item.message)
                    _log.warning("%s", item.message)
        return result.value, errors

    # -- reloading -------------------------------------------------------------------------------

    def _reject(self, errors: list[ConfigErrorItem]) -> Reload[T]:
        for item in errors:
            if item.message not in self._logged:
                _log.error(
                    "settings change rejected, the running settings are kept: %s", item.message
                )
        self._logged = {item.message for item in errors}
        self._errors = tuple(errors)
        return Reload(self._current, self._current, errors=tuple(errors))

    async def reload(self) -> Reload[T]:
        """Re-read the files now, validate everything, apply what changed live; say what happened.

        Never raises for bad settings: they are logged and returned in `Reload.errors`.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            self._signature = await asyncio.to_thread(signature, self.env_file, self.secrets_dir)
            try:
                value, errors = await asyncio.to_thread(self._read)
            except SourceError as exc:  # mid-swap, or permissions: keep the running settings
                errors = [ConfigErrorItem("<settings files>", "readable files", detail=str(exc))]
            if errors:
                return self._reject(errors)
            self._logged.clear()
            self._errors = ()
            return await self._apply(value)

    async def _apply(self, wanted: T) -> Reload[T]:
        running = self._current
        changes = [
            c._replace(secret=True) if c.env_name in self._hidden else c
            for c in diff(self._tree, running, wanted)
        ]
        live = tuple(c for c in changes if c.live)
        restart = tuple(c for c in changes if not c.live)
        for change in restart:
            if change.env_name not in self._pending or self._pending[change.env_name] != change:
                _log.warning(
                    "setting changed but needs a restart to take effect (running with the old "
                    "value): %s",
                    change.message,
                )
        for name in self._pending.keys() - {c.env_name for c in restart}:
            _log.info("%s is back to the value the process runs with", name)
        self._pending = {c.env_name: c for c in restart}
        if not live:
            return Reload(running, running, restart=restart)
        if restart:
            try:
                effective: T = merge(self._tree, running, wanted)
            except (TypeError, ValueError) as exc:
                item = ConfigErrorItem(
                    ", ".join(c.env_name for c in live),
                    "a change that can take effect without the ones needing a restart",
                    detail=f"{type(exc).__name__}: {exc}",
                )
                return self._reject([item])
        else:
            effective = wanted
        self._current = effective  # the swap: one assignment
        update = Reload(running, effective, live, restart)
        try:
            if self.on_change is not None:
                await self._call(update)
        except Exception as exc:  # noqa: BLE001 - a failed applier: roll back, keep serving
            self._current = running
            _log.error(
                "applying the settings change failed; rolled back to the running settings",
                exc_info=exc,
            )
            back = tuple(c._replace(old=c.new, new=c.old) for c in live)
            try:
                await self._call(Reload(effective, running, back, restart))
            except Exception as again:  # noqa: BLE001
                _log.error("rolling the settings change back failed too", exc_info=again)
            item = ConfigErrorItem(
                ", ".join(c.env_name for c in live),
                "a value the service can apply",
                detail=f"{type(exc).__name__}: {exc}",
            )
            self._logged = {item.message}
            self._errors = (item,)
            return Reload(running, running, restart=restart, errors=(item,))
        _log.info("settings changed live: %s", "; ".join(change.message for change in live))
        return update

    async def _call(self, update: Reload[T]) -> None:
        assert self.on_change is not None
        result = self.on_change(update)
        if inspect.isawaitable(result):
            await result

    # -- watching --------------------------------------------------------------------------------

    def _directories(self) -> list[str]:
        found: list[str] = []
        for path in (
            None if self.env_file is None else os.path.dirname(self.env_file),
            self.secrets_dir,
        ):
            if path is not None and path not in found and os.path.isdir(path):
                found.append(path)
        return found

    def _relevant(self, _change: object, path: str) -> bool:
        """Events that may change what a reload reads."""
        folder, name = os.path.split(path)
        if self.secrets_dir is not None and folder == self.secrets_dir:
            return True
        if self.env_file is not None and folder == os.path.dirname(self.env_file):
            # the file itself, or Kubernetes' ..data / ..data_tmp / ..2024_... entries
            return name == os.path.basename(self.env_file) or name.startswith("..")
        return False

    async def _reloader(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.reload()
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive any one reload
                _log.error("settings reload failed", exc_info=exc)

    async def _poller(self) -> None:
        assert self._wake is not None
        while True:
            await asyncio.sleep(self.poll_interval)
            now = await asyncio.to_thread(signature, self.env_file, self.secrets_dir)
            if now != self._signature:
                self._signature = now
                self._wake.set()

    async def _events(self) -> None:
        assert self._wake is not None
        assert self._stopping is not None
        from watchfiles import awatch

        # watchfiles logs every batch of events (info, and debug for filtered ones): a service
        # writing its log file next to its .env file would feed that back forever. Reloads are
        # logged here, by what changed.
        quiet = logging.getLogger("watchfiles")
        if quiet.level == logging.NOTSET:
            quiet.setLevel(logging.WARNING)
        folders = self._directories()
        if not folders:
            _log.info("no settings directory exists yet; polling every %g s", self.poll_interval)
            return
        try:
            async for _ in awatch(
                *folders,
                watch_filter=self._relevant,
                recursive=False,
                stop_event=self._stopping,
                step=50,
                ignore_permission_denied=True,
            ):
                self._wake.set()
        except Exception as exc:  # noqa: BLE001 - polling still runs
            _log.warning(
                "file events stopped (%s: %s); polling every %g s",
                type(exc).__name__,
                exc,
                self.poll_interval,
            )

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            loop.call_soon_threadsafe(wake.set)
        previous = self._previous_hup
        if callable(previous):
            previous(signum, frame)

    def _install_hup(self) -> None:
        if not self.sighup or not hasattr(signal, "SIGHUP"):
            return
        if threading.current_thread() is not threading.main_thread():
            _log.info("SIGHUP does not reload settings: the watcher started off the main thread")
            return
        self._previous_hup = signal.signal(signal.SIGHUP, self._on_hup)
        self._hup_installed = True

    def _remove_hup(self) -> None:
        if not self._hup_installed:
            return
        self._hup_installed = False
        with contextlib.suppress(ValueError, TypeError):  # off the main thread: leave it
            if signal.getsignal(signal.SIGHUP) == self._on_hup:
                previous = self._previous_hup
                signal.signal(signal.SIGHUP, signal.SIG_DFL if previous is None else previous)

    async def start(self) -> None:
        """Watch the files (events and polling) and SIGHUP; a second call does nothing."""
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        self._lock = self._lock or asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._install_hup()
        tasks = [self._reloader(), self._poller()]
        if self.backend == "events":
            tasks.append(self._events())
        self._tasks = [
            asyncio.create_task(task, name=f"news_config.watch:{index}")
            for index, task in enumerate(tasks)
        ]
        # One step for the tasks: watchfiles sets up its directory watches synchronously in
        # its first step. Then a change made between load and now is caught by comparing the
        # files' identities; any later one gives an event.
        await asyncio.sleep(0)
        if signature(self.env_file, self.secrets_dir) != self._signature:
            self._wake.set()
        how = (
            "file events (watchfiles) and polling"
            if self.backend == "events"
            else "polling (pip install 'news-config[watch]' for file events)"
        )
        _log.info(
            "watching settings files: %s, every %g s; SIGHUP %s",
            how,
            self.poll_interval,
            "reloads" if self._hup_installed else "not handled",
            extra={"env_file": self.env_file, "secrets_dir": self.secrets_dir},
        )

    async def stop(self) -> None:
        """Stop watching (a reload under way finishes first); a second call does nothing."""
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        self._remove_hup()
        if self._stopping is not None:
            self._stopping.set()
        if self._lock is not None:
            async with self._lock:  # let a reload under way finish
                for task in tasks:
                    task.cancel()
        _done, pending = await asyncio.wait(tasks, timeout=_STOP_TIMEOUT)
        if pending:
            _log.warning("the settings watcher did not stop within %g s", _STOP_TIMEOUT)

    async def __aenter__(self) -> Watcher[T]:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return (
            f"<Watcher {self.schema.__qualname__} env_file={self.env_file!r} "
            f"secrets_dir={self.secrets_dir!r} backend={self.backend} "
            f"{'running' if self.running else 'stopped'}>"
        )


def watch(
    schema: type[T],
    *,
    prefix: str = "",
    env_file: str | os.PathLike[str] | None = ".env",
    secrets_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    strict: bool | None = None,
    on_change: Callable[[Reload[T]], Awaitable[None] | None] | None = None,
    poll_interval: float = 2.0,
    backend: Backend = "auto",
    sighup: bool = True,
) -> Watcher[T]:
    """Load *schema* as `load` does and return a `Watcher` that keeps it in step with its files.

    ``watcher.current`` holds the settings at once; ``await watcher.start()`` (or
    ``app.manage(watcher)``, or ``async with watcher``) begins watching. Live fields are the ones
    marked ``msgspec.Meta(extra={"live": True})``; see the module docstring for the rules.

    Args:
        schema: The settings Struct class, as for `load`.
        prefix: As for `load`.
        env_file: As for `load`; its directory is watched (a missing file is empty).
        secrets_dir: As for `load`; the directory is watched (Kubernetes ``..data`` swaps too).
        environ: As for `load`; it never changes while watching.
        strict: As for `load`: unknown prefixed variables reject a change instead of a warning.
        on_change: Called (sync or async, on the event loop) with a `Reload` after live
            settings changed; the place to apply them. If it raises, the change is rolled back
            and it is called again with the reverse change.
        poll_interval: Seconds between checks of the files' identities (the fallback for
            filesystems without events, and without watchfiles).
        backend: ``auto`` (file events when watchfiles is installed, else polling only),
            ``events`` (require watchfiles) or ``poll``.
        sighup: Reload on SIGHUP (installed by `Watcher.start` on the main thread).

    Raises:
        ConfigError: The settings are invalid at the start (as `load`).
        SchemaError: *schema* is not a Struct or has a field type that cannot be loaded.
        ModuleNotFoundError: ``backend="events"`` without watchfiles.
        ValueError: ``poll_interval`` is not above 0 or ``backend`` is unknown.
    """
    return Watcher(
        schema,
        prefix=prefix,
        env_file=env_file,
        secrets_dir=secrets_dir,
        environ=environ,
        strict=strict,
        on_change=on_change,
        poll_interval=poll_interval,
        backend=backend,
        sighup=sighup,
    )


# Tracebacks, reprs and docs name the public home (news_config.Watcher), not this module.
for _public in (Change, Reload, Watcher, watch):
    _public.__module__ = "news_config"
del _public

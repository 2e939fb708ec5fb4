"""Hot reload: `watch` follows real files (edits, renames, Kubernetes ``..data`` swaps), SIGHUP."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
import pytest

import news_config
from news_config import Reload
from news_testing import ConfigVolume  # updates a directory exactly as the kubelet does

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

LIVE = msgspec.Meta(extra={"live": True})
WAIT = 20.0  # seconds a reload may take on a loaded machine before a test gives up


class Log(msgspec.Struct, frozen=True, kw_only=True):
    level: Annotated[Literal["debug", "info", "warning"], LIVE] = "info"
    output: str = "stderr"


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    rate: Annotated[int, msgspec.Meta(ge=1, extra={"live": True})] = 10
    burst: int = 5


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8080
    log: Log = msgspec.field(default_factory=Log)
    limits: Annotated[Limits, LIVE] = msgspec.field(default_factory=Limits)
    password: news_config.Secret = news_config.Secret("initial-password")


class Frozen(msgspec.Struct, frozen=True, kw_only=True):
    """A service that applies none of the log settings: its mark overrides the package's."""

    log: Annotated[Log, msgspec.Meta(extra={"live": False})] = msgspec.field(default_factory=Log)


class Recorder:
    """An ``on_change`` that keeps what it was given."""

    def __init__(self) -> None:
        """Nothing seen yet."""
        self.calls: list[Reload[Any]] = []

    def __call__(self, update: Reload[Any]) -> None:
        """Keep *update*."""
        self.calls.append(update)


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Wait until *predicate* holds (the watcher works in the background); fail after WAIT."""
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {WAIT:g} s waiting for {what}")
        await asyncio.sleep(0.02)


def replace_file(path: Path, text: str) -> None:
    """Write *text* the way editors and config tools do: a new file renamed over the old one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    """A .env file in a directory of its own, setting the log level to info."""
    path = tmp_path / "app" / ".env"
    path.parent.mkdir()
    path.write_text("APP_LOG__LEVEL=info\n")
    return path


def watcher_for(env_file: Path | None, recorder: Recorder | None = None, **options: Any) -> Any:
    """A watcher of `Settings` (prefix APP_) on *env_file*, polling fast unless told."""
    options.setdefault("poll_interval", 0.05)
    return news_config.watch(
        Settings, prefix="APP_", env_file=env_file, environ={}, on_change=recorder, **options
    )


class TestLiveChanges:
    async def test_edit_of_the_env_file_swaps_the_settings_and_calls_on_change(
        self, env_file: Path
    ) -> None:
        """Editing .env changes a live field: `current` is the new Struct, on_change sees it."""
        recorder = Recorder()
        async with watcher_for(env_file, recorder) as watcher:
            before = watcher.current
            assert before.log.level == "info"
            replace_file(env_file, "APP_LOG__LEVEL=debug\n")
            await until(lambda: watcher.current.log.level == "debug", "the new level")
        (update,) = recorder.calls
        assert update.old is before
        assert update.new is watcher.current
        assert [c.env_name for c in update.changes] == ["APP_LOG__LEVEL"]
        assert update.changes[0].message == "APP_LOG__LEVEL: 'info' -> 'debug'"
        assert update.applied

    async def test_a_mark_on_a_section_makes_all_its_fields_live(self, env_file: Path) -> None:
        """``limits: Annotated[Limits, Meta(extra={"live": True})]``: burst is live too."""
        async with watcher_for(env_file) as watcher:
            replace_file(env_file, "APP_LIMITS__BURST=50\nAPP_LIMITS__RATE=99\n")
            await until(lambda: watcher.current.limits == Limits(rate=99, burst=50), "limits")
        assert watcher.pending_restart == ()

    async def test_async_on_change_is_awaited(self, env_file: Path) -> None:
        """An async on_change runs to the end before the reload is over."""
        seen: list[str] = []

        async def apply(update: Reload[Settings]) -> None:
            await asyncio.sleep(0)
            seen.append(update.new.log.level)

        watcher = news_config.watch(
            Settings, prefix="APP_", env_file=env_file, environ={}, on_change=apply
        )
        env_file.write_text("APP_LOG__LEVEL=warning\n")
        result = await watcher.reload()
        assert result.applied
        assert seen == ["warning"]

    async def test_nothing_changed_calls_nothing(self, env_file: Path) -> None:
        """A reload that finds the same values (a touched file) leaves everything as it is."""
        recorder = Recorder()
        watcher = watcher_for(env_file, recorder)
        before = watcher.current
        env_file.write_text("# a comment now\nAPP_LOG__LEVEL=info\n")
        result = await watcher.reload()
        assert result.changes == ()
        assert result.restart == ()
        assert result.errors == ()
        assert watcher.current is before
        assert recorder.calls == []


class TestKubernetesVolumes:
    @pytest.mark.parametrize("backend", ["events", "poll"])
    async def test_kubelet_symlink_swap_is_seen(
        self, tmp_path: Path, backend: Literal["events", "poll"]
    ) -> None:
        """A ConfigMap update (new dir, ..data_tmp, rename over ..data) reloads the settings.

        With ``events`` the poll interval is an hour: only the directory's events can see it.
        """
        volume = ConfigVolume(tmp_path / "config")
        volume.write({"APP_LOG__LEVEL": "info\n", "APP_LIMITS__RATE": "10\n"})
        recorder = Recorder()
        watcher = news_config.watch(
            Settings,
            prefix="APP_",
            env_file=None,
            secrets_dir=volume.path,
            environ={},
            on_change=recorder,
            backend=backend,
            poll_interval=3600 if backend == "events" else 0.05,
            sighup=False,
        )
        assert watcher.backend == backend
        async with watcher:
            assert watcher.current.limits.rate == 10
            volume.write({"APP_LOG__LEVEL": "debug\n", "APP_LIMITS__RATE": "25\n"})
            await until(lambda: watcher.current.limits.rate == 25, "the swapped ConfigMap")
            assert watcher.current.log.level == "debug"
            volume.write({"APP_LOG__LEVEL": "debug\n"})  # a key removed: back to the default
            await until(lambda: watcher.current.limits.rate == 10, "the removed key")
        assert [sorted(c.env_name for c in u.changes) for u in recorder.calls] == [
            ["APP_LIMITS__RATE", "APP_LOG__LEVEL"],
            ["APP_LIMITS__RATE"],
        ]

    async def test_secret_changes_are_logged_masked(self, tmp_path: Path, config_log: Any) -> None:
        """A changed secret, or any value from a secret file, is reported by name only."""
        volume = ConfigVolume(tmp_path / "secrets")
        volume.write({"APP_PASSWORD": "first-pass"})
        watcher = news_config.watch(
            Settings, prefix="APP_", env_file=None, secrets_dir=volume.path, environ={}
        )
        volume.write({"APP_PASSWORD": "second-pass", "APP_LIMITS__RATE": "12"})
        result = await watcher.reload()
        (change,) = result.restart
        assert change.message == "APP_PASSWORD: <secret> -> <secret>"
        (live,) = result.changes  # not a secret type, but read from a secret file: masked
        assert live.message == "APP_LIMITS__RATE: <secret> -> <secret>"
        assert any("changed live: APP_LIMITS__RATE: <secret>" in m for m in config_log.messages)
        assert not any("pass" in m.replace("APP_PASSWORD", "") for m in config_log.messages)


class TestRejected:
    async def test_invalid_value_keeps_the_old_settings_and_logs_each_error_once(
        self, env_file: Path, config_log: Any
    ) -> None:
        """Two bad values: both logged once, however often it reloads; fixed, then bad again."""
        recorder = Recorder()
        watcher = watcher_for(env_file, recorder)
        before = watcher.current
        env_file.write_text("APP_LOG__LEVEL=loud\nAPP_LIMITS__RATE=0\n")
        first = await watcher.reload()
        await watcher.reload()
        await watcher.reload()
        assert watcher.current is before
        assert recorder.calls == []
        assert sorted(e.env_name for e in first.errors) == ["APP_LIMITS__RATE", "APP_LOG__LEVEL"]
        assert watcher.errors == first.errors
        rejected = [m for m in config_log.messages if "rejected" in m]
        assert len(rejected) == 2
        assert any("APP_LOG__LEVEL" in m and "'loud'" in m for m in rejected)
        assert any("APP_LIMITS__RATE" in m and ">= 1" in m for m in rejected)

        env_file.write_text("APP_LOG__LEVEL=debug\n")
        assert (await watcher.reload()).applied
        assert watcher.errors == ()
        env_file.write_text("APP_LOG__LEVEL=loud\n")
        await watcher.reload()
        assert len([m for m in config_log.messages if "rejected" in m]) == 3
        assert watcher.current.log.level == "debug"

    async def test_rejected_while_watching(self, env_file: Path, config_log: Any) -> None:
        """The background watcher rejects a bad edit the same way, and takes the fix after."""
        async with watcher_for(env_file) as watcher:
            replace_file(env_file, "APP_LOG__LEVEL=loud\n")
            await until(lambda: bool(watcher.errors), "the rejection")
            assert watcher.current.log.level == "info"
            replace_file(env_file, "APP_LOG__LEVEL=warning\n")
            await until(lambda: watcher.current.log.level == "warning", "the fix")
        assert len([m for m in config_log.messages if "rejected" in m]) == 1

    async def test_on_change_failure_rolls_back(self, env_file: Path, config_log: Any) -> None:
        """on_change raising: `current` stays, on_change gets the reverse change, error logged."""
        calls: list[tuple[str, str]] = []

        def apply(update: Reload[Settings]) -> None:
            calls.append((update.old.log.level, update.new.log.level))
            if update.new.log.level == "debug":
                raise RuntimeError("cannot apply debug")

        watcher = news_config.watch(
            Settings, prefix="APP_", env_file=env_file, environ={}, on_change=apply
        )
        env_file.write_text("APP_LOG__LEVEL=debug\n")
        result = await watcher.reload()
        assert not result.applied
        assert "cannot apply debug" in (result.errors[0].detail or "")
        assert watcher.current.log.level == "info"
        assert calls == [("info", "debug"), ("debug", "info")]
        assert any("rolled back" in m for m in config_log.messages)
        assert not any("changed live" in m for m in config_log.messages)

    async def test_strict_rejects_unknown_variables(self, env_file: Path) -> None:
        """strict: a typo in the file rejects the change, like load(strict=True) fails."""
        watcher = watcher_for(env_file, strict=True)
        env_file.write_text("APP_LOG__LEVEL=debug\nAPP_LOG__LEVL=debug\n")
        result = await watcher.reload()
        assert [e.env_name for e in result.errors] == ["APP_LOG__LEVL"]
        assert watcher.current.log.level == "info"

    def test_invalid_at_start_raises_config_error(self, env_file: Path) -> None:
        """watch() fails like load() when the settings are invalid to begin with."""
        env_file.write_text("APP_PORT=0\n")
        with pytest.raises(news_config.ConfigError, match="APP_PORT"):
            watcher_for(env_file)


class TestNeedsRestart:
    async def test_non_live_change_is_logged_and_kept_out(
        self, env_file: Path, config_log: Any
    ) -> None:
        """Port and log.output are not live: logged as needing a restart, not applied."""
        recorder = Recorder()
        watcher = watcher_for(env_file, recorder)
        env_file.write_text("APP_PORT=9000\nAPP_LOG__LEVEL=debug\nAPP_LOG__OUTPUT=stdout\n")
        result = await watcher.reload()
        assert watcher.current.port == 8080
        assert watcher.current.log == Log(level="debug", output="stderr")  # the live half only
        assert [c.env_name for c in result.changes] == ["APP_LOG__LEVEL"]
        assert sorted(c.env_name for c in watcher.pending_restart) == [
            "APP_LOG__OUTPUT",
            "APP_PORT",
        ]
        restart = [m for m in config_log.messages if "needs a restart" in m]
        assert len(restart) == 2
        assert any("APP_PORT: 8080 -> 9000" in m for m in restart)
        await watcher.reload()  # unchanged: not logged again
        assert len([m for m in config_log.messages if "needs a restart" in m]) == 2
        env_file.write_text("APP_LOG__LEVEL=debug\n")  # back to what runs
        await watcher.reload()
        assert watcher.pending_restart == ()

    async def test_the_outermost_mark_wins(self, env_file: Path) -> None:
        """A service marking its log section live=False overrides Log.level's live mark."""
        watcher = news_config.watch(Frozen, prefix="APP_", env_file=env_file, environ={})
        env_file.write_text("APP_LOG__LEVEL=debug\n")
        result = await watcher.reload()
        assert result.changes == ()
        assert [c.env_name for c in result.restart] == ["APP_LOG__LEVEL"]
        assert watcher.current.log.level == "info"


class TestTriggers:
    async def test_sighup_reloads(self, env_file: Path) -> None:
        """SIGHUP re-reads the files (polling is an hour away, file events off)."""
        watcher = watcher_for(env_file, backend="poll", poll_interval=3600)
        async with watcher:
            env_file.write_text("APP_LOG__LEVEL=warning\n")
            os.kill(os.getpid(), signal.SIGHUP)
            await until(lambda: watcher.current.log.level == "warning", "the SIGHUP reload")
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL  # stop() put it back

    async def test_env_file_created_later_is_read(self, tmp_path: Path) -> None:
        """A .env file that does not exist at start is picked up when it appears."""
        env_file = tmp_path / ".env"
        async with watcher_for(env_file) as watcher:
            replace_file(env_file, "APP_LIMITS__RATE=3\n")
            await until(lambda: watcher.current.limits.rate == 3, "the new file")

    async def test_process_environment_shadows_the_files(self, env_file: Path) -> None:
        """A variable of the process environment wins over the files, as in load()."""
        watcher = news_config.watch(
            Settings, prefix="APP_", env_file=env_file, environ={"APP_LOG__LEVEL": "warning"}
        )
        env_file.write_text("APP_LOG__LEVEL=debug\n")
        result = await watcher.reload()
        assert result.changes == ()
        assert watcher.current.log.level == "warning"

    def test_without_watchfiles_it_polls(self, tmp_path: Path) -> None:
        """Watchfiles missing: backend auto polls (and still reloads); events asks to install."""
        env_file = tmp_path / ".env"
        env_file.write_text("APP_LOG__LEVEL=info\n")
        script = textwrap.dedent(
            f"""
            import asyncio, os, sys, time
            sys.modules["watchfiles"] = None  # as if not installed
            import msgspec, news_config
            from typing import Annotated, Literal

            LIVE = msgspec.Meta(extra={{"live": True}})

            class S(msgspec.Struct, frozen=True, kw_only=True):
                level: Annotated[Literal["info", "debug"], LIVE] = "info"

            try:
                news_config.watch(S, prefix="APP_", env_file={str(env_file)!r}, backend="events")
            except ModuleNotFoundError as exc:
                print("events:", exc)

            async def main():
                w = news_config.watch(S, prefix="APP_", env_file={str(env_file)!r},
                                      poll_interval=0.05)
                print("backend:", w.backend)
                async with w:
                    tmp = {str(env_file)!r} + ".tmp"
                    with open(tmp, "w") as f:
                        f.write("APP_LEVEL=debug\\n")
                    os.replace(tmp, {str(env_file)!r})
                    deadline = time.monotonic() + {WAIT}
                    while w.current.level != "debug" and time.monotonic() < deadline:
                        await asyncio.sleep(0.02)
                print("level:", w.current.level)

            asyncio.run(main())
            """
        )
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
        assert proc.returncode == 0, proc.stderr
        assert "events: file events need watchfiles: pip install 'news-config[watch]'" in (
            proc.stdout
        )
        assert "backend: poll" in proc.stdout
        assert "level: debug" in proc.stdout

    def test_bad_options(self, env_file: Path) -> None:
        """poll_interval and backend are checked up front."""
        with pytest.raises(ValueError, match="poll_interval"):
            watcher_for(env_file, poll_interval=0)
        with pytest.raises(ValueError, match="backend"):
            watcher_for(env_file, backend="inotify")

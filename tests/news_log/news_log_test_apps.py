"""Apps the news-log tests serve in real processes (``news_log_test_apps:<name>``).

Not a test module: the server processes import it from this folder.
"""

from __future__ import annotations

import os
from typing import Literal

import msgspec

import news_config
import news_http
import news_log


class LiveSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The live_levels app's settings: news-log's, whose ``level`` and ``levels`` are live."""

    log: news_log.LogSettings = msgspec.field(default_factory=news_log.LogSettings)


def live_levels() -> news_http.NewsApp:
    """Log levels from the ConfigMap-like directory ``LIVE_DIR`` (prefix LIVE_), live.

    ``LIVE_BACKEND`` (auto/poll) and ``LIVE_POLL_INTERVAL`` choose how the files are watched.
    """
    backend: Literal["auto", "events", "poll"] = (
        "poll" if os.environ.get("LIVE_BACKEND") == "poll" else "auto"
    )

    def apply(update: news_config.Reload[LiveSettings]) -> None:
        # The level only: the per-logger levels stay the test runner's.
        news_log.set_levels(update.new.log.level)

    watcher = news_config.watch(
        LiveSettings,
        prefix="LIVE_",
        env_file=None,
        secrets_dir=os.environ["LIVE_DIR"],
        poll_interval=float(os.environ.get("LIVE_POLL_INTERVAL", "0.2")),
        backend=backend,
        on_change=apply,
    )
    app = news_http.create_app(news_http.HTTPSettings(), name="live-levels")
    app.manage(watcher, name="settings")
    log = news_log.get_logger("live.work")

    @app.get("/work")
    def work() -> dict[str, bool]:
        log.debug("debug detail")
        log.info("work done")
        return {"ok": True}

    return app

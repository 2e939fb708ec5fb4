"""The server process `news_testing.http.start_app` starts: ``python -m news_testing._http_runner``.

It sets news-log to JSON on stderr (level from ``NEWS_TESTING_HTTP_LOG_LEVEL``), imports the
target (``module:attr``; a factory is called without arguments) and serves it with
`news_http.run`: with the settings in ``NEWS_TESTING_HTTP_SETTINGS``, or the app's own with the
fields in ``NEWS_TESTING_HTTP_OVERRIDES`` (host, port) replaced. Its first line tells how many
processes will serve (the helper waits for that many "serving" lines).
"""

from __future__ import annotations

import importlib
import json
import os
import sys


def main(argv: list[str]) -> int:  # noqa: RET503 - run() never returns
    """Serve the app named by ``argv[1]``; returns only on a usage error."""
    import msgspec

    import news_http
    import news_log

    if len(argv) != 2 or ":" not in argv[1]:
        sys.stderr.write("usage: python -m news_testing._http_runner module:attr\n")
        return 2
    level = os.environ.get("NEWS_TESTING_HTTP_LOG_LEVEL", "info")
    news_log.setup(
        news_log.LogSettings(
            format="json",
            level=level,  # type: ignore[arg-type]
            output="stderr",
            # the helper waits for these lines, whatever the level asked for
            levels={"news_testing.http": "info", "news_http.server": "info"},
        )
    )
    module_name, _, attr = argv[1].partition(":")
    target = getattr(importlib.import_module(module_name), attr)
    app = target if isinstance(target, news_http.NewsApp) else target()
    if not isinstance(app, news_http.NewsApp):
        sys.stderr.write(f"{argv[1]} is not a news_http app (got {type(app).__name__})\n")
        return 2
    raw = os.environ.get("NEWS_TESTING_HTTP_SETTINGS")
    if raw:
        settings = msgspec.json.decode(raw, type=news_http.HTTPSettings)
    else:
        overrides = json.loads(os.environ.get("NEWS_TESTING_HTTP_OVERRIDES") or "{}")
        settings = msgspec.structs.replace(app.settings, **overrides)
    news_log.get_logger("news_testing.http").info(
        "runner starting", target=argv[1], processes=settings.processes, port=settings.port
    )
    news_http.run(app, settings)  # never returns: the process exits when the server stops


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The server process `news_testing.http.start_app` starts: ``python -m news_testing._http_runner``.

It sets news-log to JSON on stderr (level from ``NEWS_TESTING_HTTP_LOG_LEVEL``), imports the
target (``module:attr``; a factory is called without arguments) and serves it with
`news_http.run` and the settings in ``NEWS_TESTING_HTTP_SETTINGS``.
"""

from __future__ import annotations

import importlib
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
    news_log.setup(news_log.LogSettings(format="json", level=level, output="stderr"))  # type: ignore[arg-type]
    module_name, _, attr = argv[1].partition(":")
    target = getattr(importlib.import_module(module_name), attr)
    app = target if isinstance(target, news_http.NewsApp) else target()
    if not isinstance(app, news_http.NewsApp):
        sys.stderr.write(f"{argv[1]} is not a news_http app (got {type(app).__name__})\n")
        return 2
    raw = os.environ.get("NEWS_TESTING_HTTP_SETTINGS")
    settings = msgspec.json.decode(raw, type=news_http.HTTPSettings) if raw else app.settings
    news_http.run(app, settings)  # never returns: the process exits when the server stops


if __name__ == "__main__":
    sys.exit(main(sys.argv))

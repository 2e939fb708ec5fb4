"""``python -m news_config MODULE:Struct [--check | --env-example]``; see `news_config._cli`."""

from __future__ import annotations

from news_config._cli import main

raise SystemExit(main())

"""``python -m news_db``: see `news_db._cli`."""

import sys

from news_db._cli import main

sys.exit(main())

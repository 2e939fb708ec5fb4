"""``python -m newsroom``: see `newsroom.cli`."""

from __future__ import annotations

import sys

from newsroom.cli import main

if __name__ == "__main__":
    sys.exit(main())

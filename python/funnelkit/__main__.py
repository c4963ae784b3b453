"""``python -m funnelkit``: the command line (:mod:`funnelkit.cli`)."""

from __future__ import annotations

import sys

from funnelkit.cli import main

if __name__ == "__main__":
    sys.exit(main())

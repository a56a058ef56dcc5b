"""``python -m bridge``: the same as the ``flyte-bridge`` console script."""

from __future__ import annotations

import sys

from bridge.commands.cli import main

sys.exit(main())

"""Test connector module that fails to import (the bridge must skip it and serve the rest)."""

from __future__ import annotations

raise ImportError("conn_broken needs a package that is not installed: no_such_dependency")

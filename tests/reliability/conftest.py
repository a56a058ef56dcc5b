"""Reliability suite fixtures: the tallies are printed and written once at the end of the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability._harness import COUNTS, COUNTS_PATH, write_counts


@pytest.fixture(scope="session", autouse=True)
def _report_counts() -> Iterator[None]:
    """Print the tallies (``pytest -s`` shows them) and write ``.last_counts.json``."""
    yield
    if COUNTS:
        merged = write_counts()
        print(f"\nreliability counts (this run): {dict(sorted(COUNTS.items()))}")
        print(f"written to {COUNTS_PATH} ({len(merged)} kinds)")

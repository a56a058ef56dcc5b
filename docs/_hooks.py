"""MkDocs hook: the version comes from one place, the package metadata built from pyproject.toml.

It is shown beside the site name, and ``{{ version }}`` in a page is replaced by it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any


def _version() -> str:
    try:
        return version("flyte-connector-bridge")
    except PackageNotFoundError:  # building from a checkout that is not installed
        return "unknown"


def on_config(config: Any) -> Any:
    config.site_name = f"{config.site_name} {_version()}"
    return config


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return markdown.replace("{{ version }}", _version())

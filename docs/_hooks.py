"""MkDocs hooks.

- The version comes from one place, the package metadata built from pyproject.toml: it is shown beside the
  site name, and ``{{ version }}`` in a page is replaced by it.
- The benchmark plots are shown from the files the benchmark tooling writes (``benchmarks/plots/*.svg``,
  drawn by ``benchmarks/plots.py`` from ``benchmarks/results.json``), never from copies under docs/: each is
  added to the site as ``benchmarks/plots/<name>.svg``, and a page links it by its path in the repository
  (``![...](../benchmarks/plots/throughput.svg)`` from ``docs/performance.md``), which renders on GitHub too
  and is rewritten here (images and links alike) to the file's place in the site.
"""

from __future__ import annotations

import posixpath
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parents[1]
PLOTS = REPO / "benchmarks" / "plots"
LINK = re.compile(r"(\]\()([^)\s]+)(\))")  # the target of a link or an image: `](target)`


def _version() -> str:
    try:
        return version("flyte-connector-bridge")
    except PackageNotFoundError:  # building from a checkout that is not installed
        return "unknown"


def plot_files() -> list[Path]:
    """The plots the benchmark tooling has written, in the site under their path in the repository."""
    return sorted(PLOTS.glob("*.svg"))


def on_config(config: Any) -> Any:
    config.site_name = f"{config.site_name} {_version()}"
    return config


def on_files(files: Files, config: Any) -> Files:
    for plot in plot_files():
        files.append(File.generated(config, plot.relative_to(REPO).as_posix(), abs_src_path=str(plot)))
    return files


def _plot_link(match: re.Match[str], page_src: Path, page_uri: str) -> str:
    target = match.group(2)
    if re.match(r"^[a-z]+:", target):
        return match.group(0)
    resolved = (page_src.parent / target).resolve()
    if resolved.parent != PLOTS:
        return match.group(0)
    # A missing plot is rewritten too: MkDocs then finds no such file in the site and the strict build fails.
    site_uri = resolved.relative_to(REPO).as_posix()
    return match.group(1) + posixpath.relpath(site_uri, posixpath.dirname(page_uri) or ".") + match.group(3)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    markdown = markdown.replace("{{ version }}", _version())
    if page.file.abs_src_path:
        src, uri = Path(page.file.abs_src_path), page.file.src_uri
        markdown = LINK.sub(lambda m: _plot_link(m, src, uri), markdown)
    return markdown

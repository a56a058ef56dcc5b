"""YAML (or any file) shown in the docs is the file itself: one source.

A fenced block preceded by ``<!-- file: PATH -->`` (PATH relative to the repository) in README.md or any
docs/**/*.md must hold exactly that file's text. To refresh every such block after editing the files:

    python -m tests.deploy.test_docs_files --write
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The marker, then the fence on the next line; the block ends at the first line that is the same fence.
BLOCK = re.compile(r"^<!-- file: (?P<path>\S+) -->\n(?P<fence>`{3,})[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                   re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"^<!-- file: \S+ -->", re.MULTILINE)


def doc_files() -> list[Path]:
    return sorted([*(REPO / "docs").rglob("*.md"), REPO / "README.md"])


def blocks(text: str) -> list[tuple[str, str, tuple[int, int]]]:
    """(path, body, body span) of every marked block of ``text``."""
    return [(m["path"], m["body"], m.span("body")) for m in BLOCK.finditer(text)]


def write(doc: Path) -> bool:
    """Replace every marked block's body with its file's text; True if ``doc`` changed."""
    text = doc.read_text()
    for path, _, (start, end) in reversed(blocks(text)):
        text = text[:start] + (REPO / path).read_text() + text[end:]
    changed = text != doc.read_text()
    if changed:
        doc.write_text(text)
    return changed


def test_the_deploy_docs_show_the_manifests_from_their_files() -> None:
    shown = {path for doc in doc_files() for path, _, _ in blocks(doc.read_text())}
    for path in ("deploy/kubernetes/base/deployment.yaml", "deploy/kubernetes/base/service.yaml",
                 "deploy/kubernetes/overlays/gateway/upstream.yaml"):
        assert path in shown, f"{path} is not shown in the docs with a <!-- file: {path} --> block"


@pytest.mark.parametrize("doc", doc_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_marked_blocks_equal_their_files(doc: Path) -> None:
    text = doc.read_text()
    found = blocks(text)
    # A marker whose block is not right below it (no fence, or an unclosed one) is an error too.
    assert len(MARKER.findall(text)) == len(found), f"{doc}: a <!-- file: --> marker without a fenced block below it"
    for path, body, _ in found:
        source = REPO / path
        assert source.is_file(), f"{doc}: {path} does not exist"
        assert body == source.read_text(), (f"{doc.relative_to(REPO)}: the block of {path} differs from the file; "
                                            "run `python -m tests.deploy.test_docs_files --write`")


def test_a_stale_block_is_detected(tmp_path: Path) -> None:
    text = ("<!-- file: deploy/kubernetes/base/pdb.yaml -->\n```yaml\nkind: Stale\n```\n")
    ((path, body, _),) = blocks(text)
    assert path == "deploy/kubernetes/base/pdb.yaml" and body == "kind: Stale\n"
    assert body != (REPO / path).read_text()


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    for doc in doc_files():
        if write(doc):
            print(f"updated {doc.relative_to(REPO)}")

"""The documentation is checked against the code it describes.

Pages: ``docs/**/*.md`` (not ``docs/_incoming/``, the fragments other branches write), ``README.md`` and
``CHANGELOG.md``. An HTML comment on the line before a code block or table says how it is checked:

``<!-- docs-test: compile -->``   a Python block that needs a cluster or a server: compiled only.
``<!-- docs-test: pytest -->``    a Python block that is a test: run by pytest (with the bridge's plugin).
(no marker)                       a Python block: run in a fresh interpreter, must exit 0.
``<!-- docs-test: run -->``       a console block: each ``$ flyte-bridge ...`` runs, must exit 0.
``<!-- docs-test: run, output -->``  the same, and the output shown must appear in what it printed
                                  (line by line, in order, whitespace collapsed).
``<!-- docs-test: cluster -->``   a console block needing a cluster: each command is parsed by the
                                  real parser only.
``<!-- flags: COMMAND -->``       a flag table: each flag exists in COMMAND's parser with the default shown;
                                  the tables of docs/reference/cli.md together list every flag.
``<!-- docs-test: versions -->``  the supported-versions table equals ``bridge/versions.py``.

Benchmark plots are shown from ``benchmarks/plots/*.svg`` (``docs/_hooks.py`` adds them to the site): each
one linked exists, and each one the tooling writes is shown.

Every ``flyte-bridge`` command in a console block, and every ``command: [...]`` in a YAML block, is parsed
by the CLI's own argparse parser, so a renamed or removed flag fails here. Links between pages and to
files must resolve, anchors included. With the ``docs`` extra installed, the strict MkDocs build runs too.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_incoming" not in p.relative_to(DOCS).parts) + [
    REPO / "README.md",
    REPO / "CHANGELOG.md",
]
CLI_PAGE = DOCS / "reference" / "cli.md"
MARKER = re.compile(r"^<!--\s*(docs-test|flags):\s*(.*?)\s*-->$")
FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)\s*$")
SNIPPET = re.compile(r'^--8<--\s+"([^"]+)"\s*$')
TIMEOUT = 180


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    marker: tuple[str, str] | None
    text: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


@dataclass
class Table:
    page: Path
    line: int
    marker: tuple[str, str] | None
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def _cells(line: str) -> list[str]:
    # Split a table row on pipes that are not escaped (``text\|json``).
    parts = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [p.strip().replace("\\|", "|") for p in parts]


def parse_page(page: Path) -> tuple[list[Block], list[Table]]:
    blocks: list[Block] = []
    tables: list[Table] = []
    lines = page.read_text().splitlines()
    marker: tuple[str, str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line.strip())
        if m:
            marker = (m.group(1), m.group(2))
            i += 1
            continue
        fence = FENCE.match(line.strip())
        if fence:
            start, ticks = i, fence.group(1)
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].strip() != ticks:
                body.append(lines[i])
                i += 1
            blocks.append(Block(page, start + 1, fence.group(2).lower(), marker, "\n".join(body) + "\n"))
            marker = None
            i += 1
            continue
        if line.startswith("|"):
            table = Table(page, i + 1, marker, _cells(line))
            i += 2  # the header's separator row
            while i < len(lines) and lines[i].startswith("|"):
                table.rows.append(_cells(lines[i]))
                i += 1
            tables.append(table)
            marker = None
            continue
        if line.strip():
            marker = None
        i += 1
    return blocks, tables


PARSED = {page: parse_page(page) for page in PAGES}
BLOCKS = [b for blocks, _ in PARSED.values() for b in blocks]
TABLES = [t for _, tables in PARSED.values() for t in tables]


# --- the CLI's own parsers -------------------------------------------------------------------------------


def parsers() -> dict[str, argparse.ArgumentParser]:
    from bridge.commands.cli import build_parser
    from translators.cli_translate import _parser as translate_parser

    top = build_parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    found = dict(sub.choices)
    found["translate"] = translate_parser()  # `flyte-bridge translate` hands its argv to this parser
    found[""] = top
    return found


def visible_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a for a in parser._actions
        if a.help != argparse.SUPPRESS and not isinstance(a, (argparse._HelpAction, argparse._VersionAction,
                                                               argparse._SubParsersAction))
    ]


def check_argv(argv: list[str]) -> None:
    """Parse a ``flyte-bridge`` command line with the real parser; fail with argparse's message if it is wrong."""
    all_parsers = parsers()
    if argv[:1] == ["translate"]:
        parser, args = all_parsers["translate"], argv[1:]
    else:
        parser, args = all_parsers[""], argv
    errors: list[str] = []

    def error(message: str) -> None:
        errors.append(message)
        raise SystemExit(2)

    for p in (parser, *all_parsers.values()):
        p.error = error  # type: ignore[method-assign]
    try:
        parser.parse_args(args)
    except SystemExit as exit_:
        if exit_.code not in (0, None) or errors:
            pytest.fail(f"flyte-bridge {shlex.join(argv)}: {errors[0] if errors else exit_.code}")


def commands(block: Block) -> list[tuple[list[str], list[str]]]:
    """``(argv after flyte-bridge, the output lines shown after it)`` for each command of a console block."""
    found: list[tuple[list[str], list[str]]] = []
    current: list[str] | None = None
    shell = block.lang in ("sh", "bash", "shell")  # every line a command; console blocks prefix them with $
    for line in block.text.splitlines():
        if line.startswith("$ ") or shell:
            try:
                words = shlex.split(line[2:] if line.startswith("$ ") else line, comments=True)
            except ValueError:
                words = []
            current = None
            if words[:1] == ["flyte-bridge"]:
                current = []
                found.append((words[1:], current))
            continue
        if current is not None:
            current.append(line)
    return found


def yaml_commands(block: Block) -> list[list[str]]:
    found = []
    for m in re.finditer(r"command:\s*(\[[^\]]*\])", block.text):
        argv = json.loads(m.group(1))
        if argv[:1] == ["flyte-bridge"]:
            found.append(argv[1:])
    return found


# --- Python blocks ---------------------------------------------------------------------------------------

PYTHON_BLOCKS = [b for b in BLOCKS if b.lang in ("python", "py")]
MARKS = {None, ("docs-test", "compile"), ("docs-test", "pytest")}


def _run(cmd: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRPC_VERBOSITY": "ERROR", "PYTHONPATH": str(REPO)}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
                          **kwargs)  # type: ignore[call-overload]


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.id)
def test_python_example(block: Block, tmp_path: Path) -> None:
    assert block.marker in MARKS, f"{block.id}: unknown marker {block.marker}"
    code = compile(block.text, block.id, "exec")
    if block.marker == ("docs-test", "compile"):
        assert code is not None
        return
    if block.marker == ("docs-test", "pytest"):
        test = tmp_path / "test_docs_example.py"
        test.write_text(block.text)
        done = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)], tmp_path)
        assert done.returncode == 0, f"{block.id}: pytest failed\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
        assert " passed" in done.stdout
        return
    done = _run([sys.executable, "-c", block.text], tmp_path)
    assert done.returncode == 0, f"{block.id}: the example failed\n{done.stderr[-3000:]}"


# --- commands --------------------------------------------------------------------------------------------

COMMAND_BLOCKS = [b for b in BLOCKS if b.lang in ("console", "sh", "bash", "shell", "") and commands(b)]
YAML_BLOCKS = [b for b in BLOCKS if b.lang in ("yaml", "yml") and yaml_commands(b)]
RUN_MARKS = {("docs-test", "run"), ("docs-test", "run, output"), ("docs-test", "cluster")}


def _collapse(line: str) -> str:
    return " ".join(line.split())


@pytest.mark.parametrize("block", COMMAND_BLOCKS, ids=lambda b: b.id)
def test_commands_parse_and_run(block: Block) -> None:
    assert block.marker in RUN_MARKS, (
        f"{block.id}: a block with flyte-bridge commands needs <!-- docs-test: run --> (it is run), "
        f"<!-- docs-test: run, output --> (run and its output compared) or <!-- docs-test: cluster --> "
        f"(parsed only); found {block.marker}"
    )
    for argv, shown in commands(block):
        check_argv(argv)
        if block.marker == ("docs-test", "cluster"):
            continue
        done = _run([sys.executable, "-m", "bridge", *argv], REPO, stdin=subprocess.DEVNULL)
        out = done.stdout + done.stderr
        assert done.returncode == 0, f"{block.id}: flyte-bridge {shlex.join(argv)} exited {done.returncode}\n{out[-3000:]}"
        if block.marker == ("docs-test", "run, output"):
            printed = iter(_collapse(line) for line in out.splitlines())
            for line in (_collapse(s) for s in shown if s.strip() and not s.startswith("...")):
                assert any(line == p for p in printed), (
                    f"{block.id}: flyte-bridge {shlex.join(argv)} no longer prints (in this order):\n{line}\n"
                    f"--- it printed:\n{out[-3000:]}"
                )


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=lambda b: b.id)
def test_manifest_commands_parse(block: Block) -> None:
    for argv in yaml_commands(block):
        check_argv(argv)


ALL_YAML = [b for b in BLOCKS if b.lang in ("yaml", "yml")]


@pytest.mark.parametrize("block", ALL_YAML, ids=lambda b: b.id)
def test_yaml_parses(block: Block) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed here (it comes with the SDK extras)")
    docs = [d for d in yaml.safe_load_all(block.text.replace("{{ version }}", "0.0.0")) if d is not None]
    assert docs, f"{block.id}: an empty YAML block"
    for doc in docs:
        assert isinstance(doc, dict), f"{block.id}: a YAML document that is not a mapping"
        if "apiVersion" in doc:  # a Kubernetes object: the fields every object has
            assert doc.get("kind") and doc.get("metadata", {}).get("name"), f"{block.id}: kind and metadata.name"


def test_a_wrong_flag_is_caught() -> None:
    with pytest.raises(pytest.fail.Exception, match="--no-such-flag"):
        check_argv(["serve", "--no-such-flag"])
    with pytest.raises(pytest.fail.Exception, match="invalid choice"):
        check_argv(["serve", "--server-mode", "fast"])


# --- flag tables -----------------------------------------------------------------------------------------

FLAG_TABLES = [t for t in TABLES if t.marker and t.marker[0] == "flags"]
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9_-]*")


def _flag_column(table: Table) -> int:
    for i, head in enumerate(table.header):
        if head == "flag" or head.strip("`").startswith("flyte-bridge"):
            return i
    raise AssertionError(f"{table.id}: a flag table needs a 'flag' or 'flyte-bridge ...' column")


def _row_actions(parser: argparse.ArgumentParser, cell: str, where: str) -> list[argparse.Action]:
    actions: list[argparse.Action] = []
    flags = FLAG.findall(cell)
    if not flags:  # a positional, e.g. `target`
        names = re.findall(r"`([a-z_]+)`", cell)
        positional = {a.dest: a for a in parser._actions if not a.option_strings}
        for name in names:
            assert name in positional, f"{where}: {parser.prog} has no argument {name!r}"
            actions.append(positional[name])
        return actions
    for flag in flags:
        action = parser._option_string_actions.get(flag)
        assert action is not None, f"{where}: {parser.prog} has no flag {flag}"
        if action not in actions:
            actions.append(action)
    return actions


def _accepted(action: argparse.Action) -> set[str]:
    value = action.default
    if value is None:
        return {"", "none"}
    if value is False:
        return {"off"}
    if value is True:
        return {"on"}
    if value == []:
        return {""}
    if isinstance(value, float) and value.is_integer():
        return {str(int(value)), str(value)}
    if isinstance(value, int) and value and value % (1 << 20) == 0:
        return {str(value), f"{value >> 20} mib"}
    return {str(value).lower()}


@pytest.mark.parametrize("table", FLAG_TABLES, ids=lambda t: t.id)
def test_flag_table_matches_the_parser(table: Table) -> None:
    command = table.marker[1] if table.marker else ""
    parser = parsers()[command]
    col = _flag_column(table)
    default_col = table.header.index("default") if "default" in table.header else None
    for row in table.rows:
        if not row[col]:
            continue  # a row for a flag the other server has and the bridge has not
        where = f"{table.id} row {row[col]!r}"
        actions = _row_actions(parser, row[col], where)
        if default_col is None:
            continue
        shown = [d.strip().strip("`").lower() for d in row[default_col].split(", ")]
        if len(shown) != len(actions):
            shown = shown[:1] * len(actions)
        for action, default in zip(actions, shown):
            assert default in _accepted(action), (
                f"{where}: default shown {default!r}, the parser's is {action.default!r}"
            )


def test_the_cli_reference_lists_every_flag() -> None:
    listed: dict[str, set[str]] = {}
    for table in FLAG_TABLES:
        if table.page == CLI_PAGE and table.marker:
            parser = parsers()[table.marker[1]]
            col = _flag_column(table)
            for row in table.rows:
                for action in _row_actions(parser, row[col], table.id):
                    listed.setdefault(table.marker[1], set()).add(action.dest)
    for command, parser in parsers().items():
        if not command or not visible_actions(parser):
            continue
        missing = [a.option_strings[0] if a.option_strings else a.dest for a in visible_actions(parser)
                   if a.dest not in listed.get(command, set())]
        assert not missing, (
            f"flyte-bridge {command}: {missing} not in docs/reference/cli.md; add a row to the "
            f"<!-- flags: {command} --> table there (and to the page that explains it)"
        )


def test_a_wrong_default_is_caught() -> None:
    table = Table(CLI_PAGE, 0, ("flags", "serve"), ["flag", "default", "meaning"], [["`--port`", "8080", ""]])
    with pytest.raises(AssertionError, match="default shown '8080'"):
        test_flag_table_matches_the_parser(table)


# --- other tables and pages ------------------------------------------------------------------------------


def test_supported_versions_table_is_bridge_versions() -> None:
    from packaging.specifiers import SpecifierSet

    from bridge.versions import SUPPORTED

    tables = [t for t in TABLES if t.marker == ("docs-test", "versions")]
    assert tables, "no <!-- docs-test: versions --> table in the docs"
    for table in tables:
        rows = {row[0].strip("`"): row[1] for row in table.rows}
        for s in SUPPORTED:
            assert s.package in rows, f"{table.id}: {s.package} missing"
            assert SpecifierSet(rows[s.package]) == SpecifierSet(s.spec), (
                f"{table.id}: {s.package} shown as {rows[s.package]}, bridge/versions.py says {s.spec}"
            )


def test_translators_api_page_names_every_function() -> None:
    import translators

    page = (DOCS / "reference" / "translators-api.md").read_text()
    exported = {n for n in translators.__all__ if "_to_v" in n}
    named = set(re.findall(r"\b([a-z][a-z_]*_to_v[12][a-z_]*)\b", page))
    assert not exported - named, f"not in docs/reference/translators-api.md: {sorted(exported - named)}"
    assert not named - set(dir(translators)), f"named there but not in translators: {sorted(named - set(dir(translators)))}"


def _slug(text: str) -> str:
    # Python-Markdown's toc slugify (what MkDocs uses for heading anchors).
    text = re.sub(r"<[^>]+>", "", text).replace("`", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _expanded(page: Path) -> str:
    lines = []
    for line in page.read_text().splitlines():
        m = SNIPPET.match(line)
        lines.append((REPO / m.group(1)).read_text() if m else line)
    return "\n".join(lines)


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", _expanded(page), flags=re.S | re.M)
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.M):
        slug = _slug(heading)
        n, candidate = 0, slug
        while candidate in found:  # toc de-duplicates repeated headings with _1, _2 ...
            n += 1
            candidate = f"{slug}_{n}"
        found.add(candidate)
    return found


LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_links_resolve(page: Path) -> None:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    text = re.sub(r"`[^`]*`", "", text)
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), f"{page.relative_to(REPO)}: link to {target} but {dest} does not exist"
        if anchor and dest.suffix == ".md":
            assert anchor in _anchors(dest), f"{page.relative_to(REPO)}: {dest.name} has no heading #{anchor}"


def test_readme_is_the_front_door() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make serve" in readme and "make test" in readme
    assert len(readme.encode()) < 8000, "the README is the front door: the manual goes in docs/"
    for page in ("docs/migrate-from-pyflyte.md", "docs/replace-c0.md", "docs/deploy.md",
                 "docs/write-a-connector.md", "docs/translators.md"):
        assert f"]({page})" in readme, f"README does not link {page}"


def test_version_in_one_place() -> None:
    from importlib.metadata import version

    import bridge

    declared = re.search(r'^version\s*=\s*"([^"]+)"', (REPO / "pyproject.toml").read_text(), flags=re.M)
    assert declared is not None
    assert version("flyte-connector-bridge") == bridge.__version__ == declared.group(1)
    done = _run([sys.executable, "-m", "bridge", "--version"], REPO)
    assert done.stdout.split() == ["flyte-bridge", declared.group(1)]
    for page in PAGES:
        pinned = re.findall(r"flyte-connector-bridge:(\d[\w.+-]*)", page.read_text())
        assert not pinned, f"{page.relative_to(REPO)}: write the image tag as {{{{ version }}}}, not {pinned[0]}"


# --- the benchmark plots: shown from the files benchmarks/plots.py writes, never copies -----------------------

PLOTS_DIR = REPO / "benchmarks" / "plots"
PLOT_LINK = re.compile(r"\]\(((?:\.\./)+benchmarks/plots/[^)\s]+)\)")


def _plot_refs() -> dict[Path, list[str]]:
    return {page: PLOT_LINK.findall(page.read_text()) for page in PAGES if page.parent.is_relative_to(DOCS)}


def test_every_plot_shown_exists() -> None:
    refs = [(page, target) for page, targets in _plot_refs().items() for target in targets]
    assert refs, "no page shows a benchmark plot"
    for page, target in refs:
        assert (page.parent / target).resolve().is_file(), f"{page.relative_to(REPO)}: {target} does not exist"


def test_every_plot_the_tooling_writes_is_shown() -> None:
    from benchmarks.plots import PLOTS  # matplotlib is imported only when drawing

    shown = {Path(t).name for targets in _plot_refs().values() for t in targets}
    written = {f"{name}.svg" for name in PLOTS} | {p.name for p in PLOTS_DIR.glob("*.svg")}
    assert written <= shown, f"plots not shown in the docs: {sorted(written - shown)}"
    copies = [p for p in DOCS.rglob("*.svg") if p.name in written]
    assert not copies, f"copies of plots under docs/ (show benchmarks/plots/*.svg instead): {copies}"


def test_the_hook_points_plot_links_at_the_site_copy() -> None:
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("the docs extra is not installed")
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "_hooks.py")
    assert spec is not None and spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)

    class _File:
        def __init__(self, uri: str) -> None:
            self.src_uri, self.abs_src_path = uri, str(DOCS / uri)

    class _Page:
        def __init__(self, uri: str) -> None:
            self.file = _File(uri)

    md = "[![a](../benchmarks/plots/waiting.svg)](../benchmarks/plots/waiting.svg) [b](deploy.md)"
    assert hooks.on_page_markdown(md, page=_Page("performance.md")) == (
        "[![a](benchmarks/plots/waiting.svg)](benchmarks/plots/waiting.svg) [b](deploy.md)")
    deeper = hooks.on_page_markdown("![a](../../benchmarks/plots/waiting.svg)", page=_Page("reference/x.md"))
    assert deeper == "![a](../benchmarks/plots/waiting.svg)"
    # Only links into benchmarks/plots/ change; a missing plot then fails MkDocs' strict link check.
    assert hooks.on_page_markdown("![a](../benchmarks/RESULTS.md)", page=_Page("performance.md")) == (
        "![a](../benchmarks/RESULTS.md)")
    assert hooks.on_page_markdown("![a](https://x/benchmarks/plots/a.svg)", page=_Page("performance.md")) == (
        "![a](https://x/benchmarks/plots/a.svg)")


def test_site_builds_strict(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None:
        pytest.skip("the docs extra is not installed (pip install -e '.[docs]'): the strict site build is not run")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True, text=True,
        timeout=TIMEOUT, check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "site" / "index.html").exists()
    performance = (tmp_path / "site" / "performance.html").read_text()
    for plot in PLOTS_DIR.glob("*.svg"):  # each plot is in the site, byte for byte, and the page shows it
        assert (tmp_path / "site" / "benchmarks" / "plots" / plot.name).read_bytes() == plot.read_bytes()
        assert f'src="benchmarks/plots/{plot.name}"' in performance

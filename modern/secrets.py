"""Credentials for every caller: the pod-side secret store and the per-call resolution.

FlytePropeller (v1) sends no ``connection``, and the open-source Flyte 2 executor resolves no secrets, so
a connector that takes its credentials as keyword arguments (flyte-sdk's, or the bridge's own API) would
run without them. The hub fills, per call, every credential an implementation declares that the caller's
``connection`` lacks, from the store flytekit connectors already read in their pod (DESIGN.md,
"Credentials"); the caller's ``connection`` wins. Filled values travel in the request's
``connection.secrets``, so they are scrubbed from errors and logs exactly like a caller's.

The store follows flytekit's ``SecretsManager.get(key=...)`` (what ``get_connector_secret`` calls) without
importing flytekit:

- the environment variable ``<prefix><KEY upper-cased>``, prefix ``_FSEC_`` unless
  ``FLYTE_SECRETS_ENV_PREFIX`` says otherwise;
- else the file ``<dir>/<file prefix><key lower-cased>``, dir ``/etc/secrets`` unless
  ``FLYTE_SECRETS_DEFAULT_DIR``, file prefix empty unless ``FLYTE_SECRETS_FILE_PREFIX``;
- values stripped of surrounding whitespace, as flytekit strips them.

An explicit mapping (``[CATEGORY:]NAME=env:VAR|file:PATH|caller``) replaces the convention for one name,
for every category or one. A file is read again when it changed (device, inode, size or mtime of what
the path resolves to, symlinks followed: Kubernetes swaps a Secret volume's ``..data`` link atomically),
so a rotated secret reaches the next call without a restart.

No gRPC here: the hub calls ``SecretResolver.fill`` with v2 request messages.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from modern.implementation import FLYTE_SDK, UPSTREAM

log = logging.getLogger("modern.secrets")

#: flytekit's ``SecretsConfig`` defaults and the environment variables that override them.
DEFAULT_ENV_PREFIX = "_FSEC_"
DEFAULT_DIR = os.path.join(os.sep, "etc", "secrets")
DEFAULT_FILE_PREFIX = ""
ENV_PREFIX_VAR = "FLYTE_SECRETS_ENV_PREFIX"
DIR_VAR = "FLYTE_SECRETS_DEFAULT_DIR"
FILE_PREFIX_VAR = "FLYTE_SECRETS_FILE_PREFIX"

#: A secret file larger than this is refused (logged, treated as missing): a credential, not a data set.
MAX_FILE_BYTES = 1024 * 1024

#: A directory listing newer than this after the directory's mtime is not reused (coarse mtime clocks).
_RACY_NS = 2_000_000_000

#: Parameters of create/get/delete/do that are the hub's own arguments, never credentials.
FIXED_PARAMETERS = frozenset(
    {"self", "task_template", "output_prefix", "inputs", "task_execution_metadata", "resource_meta"}
)
_METHODS = ("create", "get", "delete", "do")

ENV = "env"
FILE = "file"
CALLER = "caller"
KINDS = (ENV, FILE, CALLER)

FOUND = "found"
MISSING = "missing"
CALLER_ONLY = "caller only"


@dataclass(frozen=True)
class SecretSource:
    """Where one secret is looked up: an environment variable, a file, or nowhere (the caller only)."""

    kind: str
    where: str = ""

    def __str__(self) -> str:
        return CALLER if self.kind == CALLER else f"{self.kind}:{self.where}"


def parse_mapping(text: str) -> tuple[str | None, str, SecretSource]:
    """``[CATEGORY:]NAME=env:VAR|file:PATH|caller`` as (category or None, name, source).

    Raises:
        ValueError: Not of that shape (the message says which part).
    """
    # Messages never echo what stands where a source belongs: an operator who passed a secret's value
    # itself (``token=sk-...``, or the value alone) must not find it in the pod's log.
    left, sep, right = text.strip().partition("=")
    if not sep:
        raise ValueError("expected [CATEGORY:]NAME=env:VAR|file:PATH|caller (no '=' in what was given)")
    category, colon, name = left.strip().rpartition(":")
    name = name.strip()
    if not name.isidentifier():
        raise ValueError(f"secret name {name!r} is not a keyword-argument name")
    if colon and not category.strip():
        raise ValueError(f"empty task category before {name!r}")
    right = right.strip()
    if right == CALLER:
        return (category.strip() or None), name, SecretSource(CALLER)
    kind, colon2, where = right.partition(":")
    if kind in (ENV, FILE) and colon2 and not where.strip():
        raise ValueError(f"source of {name!r} names no {'variable' if kind == ENV else 'file'} after {kind}:")
    if kind not in (ENV, FILE) or not colon2:
        if colon2 and kind.isidentifier():
            unknown = f", not {kind}:..."
        else:
            unknown = " (a value is never given here: it is read from the pod)"
        raise ValueError(f"source of {name!r} must be env:VAR, file:PATH or caller{unknown}")
    return (category.strip() or None), name, SecretSource(kind, where.strip())


def parse_mapping_lines(lines: Iterable[str], origin: str = "") -> list[tuple[str | None, str, SecretSource]]:
    """Mappings of a secrets file: one ``[CATEGORY:]NAME=SOURCE`` a line; blank lines and ``#`` comments skipped.

    Raises:
        ValueError: A line that does not parse, naming ``origin`` and the line number.
    """
    out = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            out.append(parse_mapping(line))
        except ValueError as exc:
            raise ValueError(f"{origin or 'secrets file'} line {number}: {exc}") from None
    return out


@dataclass
class _Cached:
    signature: tuple[int, int, int, int]
    value: str | None


class SecretStore:
    """The pod's secrets: flytekit's conventions plus explicit mappings (see the module docstring).

    Args:
        mappings: ``(category or None, name, source)`` triples; a category-specific one wins over a global one.
        env_prefix: Prefix of the conventional environment variables.
        directory: Directory of the conventional files.
        file_prefix: Prefix of the conventional file names.
        environ: The environment to read (default ``os.environ``, read at each lookup).
    """

    def __init__(
        self,
        mappings: Iterable[tuple[str | None, str, SecretSource]] = (),
        *,
        env_prefix: str = DEFAULT_ENV_PREFIX,
        directory: str = DEFAULT_DIR,
        file_prefix: str = DEFAULT_FILE_PREFIX,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.env_prefix = env_prefix
        self.directory = directory
        self.file_prefix = file_prefix
        self.environ = os.environ if environ is None else environ
        self.mappings: dict[tuple[str | None, str], SecretSource] = {}
        for category, name, source in mappings:
            self.mappings[(category, name)] = source
        self._files: dict[str, _Cached] = {}
        self._sources: dict[tuple[str | None, str], tuple[SecretSource, ...]] = {}  # mappings are fixed
        self._warned: set[str] = set()
        self._listing: tuple[tuple[int, int, int], frozenset[str]] | None = None  # (directory signature, file names)
        self._lock = threading.Lock()

    @classmethod
    def from_environment(
        cls, mappings: Iterable[tuple[str | None, str, SecretSource]] = (), environ: Mapping[str, str] | None = None
    ) -> SecretStore:
        """A store configured as flytekit's ``SecretsConfig.auto()`` is from ``FLYTE_SECRETS_*`` variables.

        (flytekit also reads a legacy ini config file's ``[secrets]`` section; the bridge reads the
        variables only.)
        """
        env = os.environ if environ is None else environ

        def setting(var: str, default: str) -> str:
            value = env.get(var)
            return default if value is None else value

        return cls(
            mappings,
            env_prefix=setting(ENV_PREFIX_VAR, DEFAULT_ENV_PREFIX).strip(),
            directory=setting(DIR_VAR, DEFAULT_DIR).strip(),
            file_prefix=setting(FILE_PREFIX_VAR, DEFAULT_FILE_PREFIX).strip(),
            environ=environ,
        )

    # -- where ------------------------------------------------------------------------------------

    def sources(self, name: str, category: str | None = None) -> tuple[SecretSource, ...]:
        """Where ``name`` is looked up, in order: its mapping alone, else flytekit's env variable then file."""
        found = self._sources.get((category, name))
        if found is None:
            found = self._sources[(category, name)] = self._where(name, category)
        return found

    def _where(self, name: str, category: str | None) -> tuple[SecretSource, ...]:
        mapped = self.mappings.get((category, name)) if category is not None else None
        if mapped is None:
            mapped = self.mappings.get((None, name))
        if mapped is not None:
            return (mapped,)
        return (
            SecretSource(ENV, f"{self.env_prefix}{name.upper()}"),
            SecretSource(FILE, os.path.join(self.directory, f"{self.file_prefix}{name.lower()}")),
        )

    def caller_only(self, name: str, category: str | None = None) -> bool:
        """Whether ``name`` is mapped to ``caller`` (never read from the pod)."""
        return self.sources(name, category)[0].kind == CALLER

    # -- values ------------------------------------------------------------------------------------

    def lookup(self, name: str, category: str | None = None) -> tuple[str | None, SecretSource | None]:
        """The value of ``name`` now, and where it was found; (None, None) when the pod has none."""
        for source in self.sources(name, category):
            value = self._read(source)
            if value is not None:
                return value, source
        return None, None

    def get(self, name: str, category: str | None = None) -> str | None:
        """The value of ``name`` now, or None."""
        return self.lookup(name, category)[0]

    def _read(self, source: SecretSource) -> str | None:
        if source.kind == ENV:
            value = self.environ.get(source.where)
            return None if value is None else value.strip()
        if source.kind == FILE:
            return self._read_file(source.where)
        return None

    def _read_file(self, path: str) -> str | None:
        try:
            st = os.stat(path)  # follows symlinks: a swapped ..data link gives another inode
        except OSError:
            self._files.pop(path, None)
            return None
        cached = self._files.get(path)
        if cached is not None and cached.signature == _signature(st):
            return cached.value
        with self._lock:
            value, signature = self._load(path)
            self._files[path] = _Cached(signature, value)
        return value

    def _load(self, path: str) -> tuple[str | None, tuple[int, int, int, int]]:
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())  # the signature of what is read, not of what was stat'ed
                if st.st_size > MAX_FILE_BYTES:
                    self._warn(path, f"secret file {path} is larger than {MAX_FILE_BYTES} bytes: not used")
                    return None, _signature(st)
                data = f.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            self._warn(path, f"secret file {path} cannot be read: {type(exc).__name__}")
            return None, (0, 0, -1, 0)
        try:
            return data.decode("utf-8").strip(), _signature(st)
        except UnicodeDecodeError:
            self._warn(path, f"secret file {path} is not UTF-8 text: not used")
            return None, _signature(st)

    def _warn(self, path: str, message: str) -> None:
        if path not in self._warned:  # once per file, never the content
            self._warned.add(path)
            log.warning("%s", message)

    def names(self) -> list[str]:
        """Every name the store can list now: mapped names, ``<prefix>*`` variables, files in the directory."""
        found = {name for (_, name), src in self.mappings.items() if src.kind != CALLER}
        if self.env_prefix:
            found |= {k[len(self.env_prefix):].lower() for k in self.environ if k.startswith(self.env_prefix) and len(k) > len(self.env_prefix)}
        found |= self._file_names()
        return sorted(n for n in found if n.isidentifier())

    def _file_names(self) -> frozenset[str]:
        """The names of the directory's files, listed again only when the directory changed.

        Forwarding every name (``ALL``) asks for them on every call: a listing and a ``stat`` per entry
        cost ~50 us for ten files, one ``stat`` of the directory ~1 us. Adding or removing a key (in
        Kubernetes, a symlink beside ``..data``) changes the directory's mtime; a listing taken within
        ``_RACY_NS`` of that mtime is not kept (a change in the same clock tick would not show).
        """
        try:
            st = os.stat(self.directory)
        except OSError:
            self._listing = None
            return frozenset()
        signature = (st.st_dev, st.st_ino, st.st_mtime_ns)
        listing = self._listing
        if listing is not None and listing[0] == signature:
            return listing[1]
        try:
            entries = os.listdir(self.directory)
        except OSError:
            entries = []
        found = set()
        for entry in entries:
            # Kubernetes' ..data and timestamped dirs start with a dot; only files count.
            if entry.startswith(".") or not entry.startswith(self.file_prefix):
                continue
            if os.path.isfile(os.path.join(self.directory, entry)):
                found.add(entry[len(self.file_prefix):])
        names = frozenset(found)
        racy = time.time_ns() - st.st_mtime_ns < _RACY_NS
        self._listing = None if racy else (signature, names)
        return names

    def status(self, name: str, category: str | None = None) -> tuple[str, str]:
        """(``found``/``missing``/``caller only``, where) for the start table; never a value."""
        sources = self.sources(name, category)
        if sources[0].kind == CALLER:
            return CALLER_ONLY, "--secret ...=caller"
        value, source = self.lookup(name, category)
        if source is not None:
            return FOUND, str(source)
        return MISSING, " or ".join(str(s) for s in sources)


def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


# -- what a connector declares ---------------------------------------------------------------------


def _string_names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (tuple, list, set, frozenset)):
        return ()
    return tuple(v for v in value if isinstance(v, str) and v.isidentifier())


def declared_secrets(connector: Any) -> tuple[str, ...]:
    """The credential names ``connector`` takes as keywords, read once at registration.

    Every parameter of ``create``/``get``/``delete`` (or ``do``) that is not one of the hub's own
    arguments and not ``*args``/``**kwargs``, plus the names of a ``secrets`` attribute (a tuple of
    strings) for a connector that reads them from ``**kwargs``.
    """
    names: dict[str, None] = dict.fromkeys(n for n in _string_names(getattr(connector, "secrets", None)) if n not in FIXED_PARAMETERS)
    for method in _METHODS:
        fn = getattr(connector, method, None)
        if not callable(fn):
            continue
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            continue
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in FIXED_PARAMETERS:
                continue
            names.setdefault(p.name)
    return tuple(names)


# -- per call --------------------------------------------------------------------------------------


def scrub_error(exc: Any, request: Any) -> Any:
    """``exc`` (a ``BridgeError``) with the secret values of ``request``'s connection replaced by ``***``.

    For errors the bridge did not write itself (another server's status passed back): an upstream
    that echoes a forwarded secret must not carry it to the caller.
    """
    from modern._invoke import scrub
    from modern._values import secret_values

    values = secret_values(request) if "connection" in request.DESCRIPTOR.fields_by_name else ()
    details = getattr(exc, "details", None)
    if values and isinstance(details, str):
        clean = scrub(details, values)
        if clean != details:
            exc.details = clean
            exc.args = (clean,)
    return exc


#: ``forward`` value: forward every name the store can list.
ALL = ("*",)


@dataclass
class SecretResolver:
    """Fills a request's ``connection`` with what the pod has for the implementation's declared names.

    Attributes:
        store: The pod's secrets.
        forward: Per upstream key (``upstream:<target>``), the names forwarded to that v2 upstream
            (``ALL``: every name the store lists); an upstream not named gets none.
    """

    store: SecretStore = field(default_factory=SecretStore.from_environment)
    forward: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _reported: set[tuple[str, str, str]] = field(default_factory=set, init=False, repr=False)

    def names(self, impl: Any) -> tuple[str, ...]:
        """The names filled for calls to ``impl``: what it declares; for a v2 upstream, what the operator forwards."""
        if getattr(impl, "source", None) == UPSTREAM:
            # A v1 upstream (flytekit family) has no connection field: never.
            if getattr(impl, "family", None) != FLYTE_SDK:
                return ()
            names = self.forward.get(getattr(impl, "key", ""), ())
            return tuple(self.store.names()) if names == ALL else names
        return tuple(getattr(impl, "secret_names", ()))

    def fill(self, request: Any, impl: Any) -> Any:
        """``request``, or a copy whose ``connection.secrets`` has the pod's values for the names it lacks.

        Args:
            request: A v2 Create/Get/Delete request (the caller's ``connection`` secrets and configs win).
            impl: The implementation that will answer it.
        """
        names = self.names(impl)
        if not names:
            return request
        category = getattr(impl, "category", ("", 0))[0] or None
        conn = request.connection if request.HasField("connection") else None
        filled: dict[str, str] = {}
        for name in names:
            if conn is not None and (name in conn.secrets or name in conn.configs):
                continue
            value = self.store.get(name, category)
            if value is None:
                self._report_missing(impl, name, category)
                continue
            filled[name] = value
        if not filled:
            return request
        copy = type(request)()
        copy.CopyFrom(request)
        for name, value in filled.items():
            copy.connection.secrets[name] = value
        return copy

    def _report_missing(self, impl: Any, name: str, category: str | None) -> None:
        key = (str(getattr(impl, "key", "")), category or "", name)
        if key in self._reported:
            return
        self._reported.add(key)  # once per implementation and name: the names, never a value
        where = " or ".join(str(s) for s in self.store.sources(name, category))
        log.info(
            "connector %r (%s) declares secret %r: the caller did not send it and the pod has none (%s)",
            getattr(impl, "name", "?"), category, name, where,
        )

    def statuses(self, impl: Any) -> list[tuple[str, str, str]]:
        """(name, status, where) per name for ``impl``, for the start table; never a value."""
        category = getattr(impl, "category", ("", 0))[0] or None
        if getattr(impl, "source", None) == UPSTREAM:
            names = self.forward.get(getattr(impl, "key", ""))
            if names is None:
                return []
            if getattr(impl, "family", None) != FLYTE_SDK:
                return [("(--upstream-forward-secrets)", CALLER_ONLY, "v1 upstream: no connection field, nothing forwarded")]
            if names == ALL:
                return [("*", "forwarded", ", ".join(self.store.names()) or "(the pod has none now)")]
        else:
            names = tuple(getattr(impl, "secret_names", ()))
        return [(n, *self.store.status(n, category)) for n in names]


__all__ = [
    "ALL",
    "CALLER_ONLY",
    "DEFAULT_DIR",
    "DEFAULT_ENV_PREFIX",
    "FIXED_PARAMETERS",
    "FOUND",
    "MISSING",
    "SecretResolver",
    "SecretSource",
    "SecretStore",
    "declared_secrets",
    "parse_mapping",
    "parse_mapping_lines",
    "scrub_error",
]

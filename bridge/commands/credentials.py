"""``flyte-bridge serve``'s credential flags: the pod-side secret store and what reaches upstreams.

- ``--secret [CATEGORY:]NAME=env:VAR|file:PATH|caller`` (repeatable): where the pod keeps one secret
  when flytekit's convention (``_FSEC_<NAME>``, ``/etc/secrets/<name>``) does not fit; ``caller``
  means never from the pod. With ``CATEGORY:`` it applies to that task category only.
- ``--secrets-file PATH`` (repeatable): the same mappings, one a line (``#`` comments).
- ``--upstream-forward-secrets ADDRESS[=NAME,NAME...]`` (repeatable): send the pod's values of those
  names (without names: every name the store lists) in the ``connection`` forwarded to that v2
  ``--upstream``. Without it an upstream gets only what the caller sent; a v1 upstream never gets any.

The store's conventions come from flytekit's variables (``FLYTE_SECRETS_ENV_PREFIX``,
``FLYTE_SECRETS_DEFAULT_DIR``, ``FLYTE_SECRETS_FILE_PREFIX``): see ``modern.secrets``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from bridge.table import format_secrets
from modern.implementation import upstream_key
from modern.secrets import ALL, SecretResolver, SecretSource, SecretStore, parse_mapping, parse_mapping_lines

log = logging.getLogger(__name__)

Mapping = tuple[str | None, str, SecretSource]


def _mapping(text: str) -> Mapping:
    try:
        return parse_mapping(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _mapping_file(text: str) -> list[Mapping]:
    path = Path(text)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {type(exc).__name__}") from None
    try:
        return parse_mapping_lines(lines, str(path))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _target(address: str) -> str:
    from bridge.upstream.client import parse_address  # the gateway is imported only when used

    return parse_address(address)[0]


def _forward(text: str) -> tuple[str, tuple[str, ...]]:
    address, sep, names = text.partition("=")
    if not address:
        raise argparse.ArgumentTypeError("expected ADDRESS or ADDRESS=NAME[,NAME...]")
    if not sep:
        return address, ALL
    listed = tuple(n.strip() for n in names.split(",") if n.strip())
    bad = [n for n in listed if not n.isidentifier()]
    if not listed or bad:
        raise argparse.ArgumentTypeError(f"expected ADDRESS=NAME[,NAME...] with keyword-argument names, not {text!r}")
    return address, listed


def add_secret_flags(p: argparse.ArgumentParser) -> None:
    """The ``credentials`` flag group of ``serve``."""
    g = p.add_argument_group(
        "credentials (a connector's declared secrets the caller did not send come from the pod: "
        "_FSEC_<NAME>, else /etc/secrets/<name>)"
    )
    g.add_argument(
        "--secret", action="append", type=_mapping, default=[], metavar="[CATEGORY:]NAME=SOURCE",
        help="Where the pod keeps secret NAME: env:VAR, file:PATH, or caller (never from the pod). CATEGORY: "
             "limits it to one task category. Repeatable; replaces the convention for that name.",
    )
    g.add_argument(
        "--secrets-file", action="append", type=_mapping_file, default=[], metavar="PATH",
        help="A file of --secret mappings, one per line (# comments). Repeatable.",
    )
    g.add_argument(
        "--upstream-forward-secrets", action="append", type=_forward, default=[], metavar="ADDRESS[=NAME,...]",
        help="Send the pod's values of these secrets (all the store lists, without names) in the connection "
             "forwarded to this v2 --upstream, when the caller did not send them. Repeatable. Default: none.",
    )


def resolver_from_args(args: argparse.Namespace) -> SecretResolver:
    """The hub's ``SecretResolver`` for parsed ``serve`` flags (later mappings win over earlier ones)."""
    mappings: list[Mapping] = [m for batch in getattr(args, "secrets_file", []) for m in batch]
    mappings += getattr(args, "secret", [])
    forward: dict[str, tuple[str, ...]] = {}
    for address, names in getattr(args, "upstream_forward_secrets", []):
        key = upstream_key(_target(address))
        if names == ALL or forward.get(key) == ALL:
            forward[key] = ALL
        else:
            forward[key] = tuple(dict.fromkeys((*forward.get(key, ()), *names)))
    return SecretResolver(SecretStore.from_environment(mappings), forward)


def unknown_forward_targets(resolver: SecretResolver, upstream_addresses: list[str]) -> list[str]:
    """``--upstream-forward-secrets`` keys that name no ``--upstream`` (a typo forwards nothing)."""
    known = {upstream_key(_target(a)) for a in upstream_addresses}
    return sorted(k for k in resolver.forward if k not in known)


def configure_secrets(hub: Any, args: argparse.Namespace) -> SecretResolver:
    """Give ``hub`` the resolver of the ``serve`` flags; warn about forwarding to no ``--upstream``."""
    resolver = hub.secrets = resolver_from_args(args)
    for key in unknown_forward_targets(resolver, list(getattr(args, "upstream", []))):
        log.warning("--upstream-forward-secrets %s names no --upstream: nothing is forwarded there", key.partition(":")[2])
    return resolver


def secrets_section(registry: Any, resolver: SecretResolver | None) -> str:
    """The start table's "Secrets" section (names and places, never a value)."""
    return format_secrets(secret_rows(registry, resolver) if resolver is not None else [])


def secret_rows(registry: Any, resolver: SecretResolver) -> list[tuple[str, str, str, str, str]]:
    """(connector, category, secret, status, where) for every implementation that declares secrets."""
    rows = []
    for impl in registry.all_implementations():
        name, version = impl.category
        for secret, status, where in resolver.statuses(impl):
            rows.append((impl.name, f"{name} (v{version}) {impl.key}", secret, status, where))
    return sorted(rows)


__all__ = [
    "add_secret_flags",
    "configure_secrets",
    "resolver_from_args",
    "secret_rows",
    "secrets_section",
    "unknown_forward_targets",
]

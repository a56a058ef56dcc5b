"""``flyte-bridge translate``: one message of either generation in, the other generation out.

    flyte-bridge translate --type flyteidl.admin.GetTaskRequest --in req.bin --out-format json
    echo '{"taskType": "sensor"}' | flyte-bridge translate --type GetTaskRequest --from v1 --in-format json

The type is a full name (which says the generation) or a short name with ``--from v1|v2``.
Bad input prints one line to stderr and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

import translators
from translators.errors import TranslationError, bounded


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flyte-bridge translate", description=__doc__.split("\n")[0])
    p.add_argument("--type", required=True, help="message type: full name, or short name with --from")
    p.add_argument("--from", dest="source", choices=("v1", "v2"), help="generation of the input")
    p.add_argument("--in", dest="infile", default="-", help="input file (default stdin)")
    p.add_argument("--out", dest="outfile", default="-", help="output file (default stdout)")
    p.add_argument("--in-format", choices=("binary", "json"), default=None,
                   help="default: json if the input starts with '{', else binary")
    p.add_argument("--out-format", choices=("binary", "json"), default="json")
    p.add_argument("--no-mark", action="store_true", help="omit the round-trip marker (what servers send)")
    return p


def _resolve(type_name: str, source: str | None) -> tuple[type[Message], str]:
    for pair in translators.PAIRS:
        for cls, gen in ((pair.v1_cls, "v1"), (pair.v2_cls, "v2")):
            full = cls.DESCRIPTOR.full_name
            if type_name == full or (type_name == cls.DESCRIPTOR.name and source in (None, gen)):
                if source not in (None, gen):
                    raise TranslationError(f"{full} is a {gen} type, not {source}")
                return cls, gen
    raise TranslationError(f"unknown message type {type_name!r} (try a full name like flyteidl.admin.GetTaskRequest)")


def parse_message(raw: bytes, cls: type[Message], fmt: str | None = None) -> Message:
    """Parse ``raw`` as ``cls``: JSON when ``fmt`` says so or (``fmt`` None) the bytes start with '{', else binary."""
    fmt = fmt or ("json" if raw.lstrip()[:1] == b"{" else "binary")
    if fmt == "json":
        return json_format.Parse(raw.decode("utf-8"), cls())
    return cls.FromString(raw)


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        cls, gen = _resolve(args.type, args.source)
        raw = sys.stdin.buffer.read() if args.infile == "-" else open(args.infile, "rb").read()
        msg = parse_message(raw, cls, args.in_format)
        kwargs: dict[str, Any] = {"mark": not args.no_mark}
        out = translators.to_v2(msg, **kwargs) if gen == "v1" else translators.to_v1(msg, **kwargs)
        data = (json_format.MessageToJson(out) + "\n").encode() if args.out_format == "json" else out.SerializeToString()
        if args.outfile == "-":
            sys.stdout.buffer.write(data)
        else:
            with open(args.outfile, "wb") as fh:
                fh.write(data)
    except (TranslationError, json_format.ParseError, UnicodeDecodeError, OSError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"flyte-bridge translate: {bounded(first, 300)}", file=sys.stderr)
        return 2
    except Exception as err:  # DecodeError and friends from protobuf
        print(f"flyte-bridge translate: cannot read input as {args.type}: {bounded(type(err).__name__, 80)}",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(run())

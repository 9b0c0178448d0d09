"""The ``lineage`` command.

``lineage demo`` records a small pipeline history in an embedded store and
answers the questions people keep a metadata store for; ``lineage serve``
runs the gRPC metadata server.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

from lineage import errors

__all__ = ["main"]


def _add_db_option(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get("LINEAGE_DB", default),
        help="store URL: memory://, sqlite:///file, mysql://..., postgresql://..., neo4j://... "
        "(default: $LINEAGE_DB or %(default)s)",
    )


def _demo(args: argparse.Namespace) -> int:
    import lineage
    from lineage.demo import run_demo

    with lineage.connect(args.db) as store:
        run_demo(store, pathlib.Path(args.output))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser of the ``lineage`` command."""
    parser = argparse.ArgumentParser(prog="lineage", description="An ML Metadata store on a graph.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="record a small pipeline history and show its lineage")
    _add_db_option(demo, "memory://")
    demo.add_argument("-o", "--output", default="lineage-demo.html", help="where to write the picture")
    demo.set_defaults(handler=_demo)

    serve = commands.add_parser("serve", help="run the gRPC metadata server", add_help=False)
    serve.set_defaults(handler=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the command; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        from lineage.server import main as serve_main

        return serve_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except errors.StatusError as e:
        print(f"lineage: {type(e).__name__}: {e.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

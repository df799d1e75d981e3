"""The ``vigil`` console script: run, api, worker, dispatcher, migrate, admin."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from store.config import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    for name in ("host", "port", "database_url"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    if getattr(args, "regions", None):
        overrides["VIGIL_REGIONS"] = args.regions
    return Settings(**overrides)  # type: ignore[arg-type]


def _cmd_migrate(args: argparse.Namespace) -> int:
    from store.migrate import upgrade

    settings = _settings(args)
    upgrade(settings.database_url)
    print(f"store at {settings.database_url} is up to date")
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from workers.worker import serve_worker

    settings = _settings(args)
    asyncio.run(serve_worker(settings, region=args.region, concurrency=args.concurrency))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigil", description=__doc__)
    parser.add_argument("--database-url", help="store URL (env VIGIL_DATABASE_URL)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(fn=_cmd_migrate)

    p = sub.add_parser("worker", help="run one worker process for a region")
    p.add_argument("--region", required=True)
    p.add_argument("--concurrency", type=int, default=256, help="checks in flight at most")
    p.set_defaults(fn=_cmd_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.fn(args)
    return code


if __name__ == "__main__":
    sys.exit(main())

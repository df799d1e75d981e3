"""The ``vigil`` console script: run, api, worker, migrate, admin."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from store.config import Settings
from workers.admin import UserError

log = logging.getLogger("vigil")
T = TypeVar("T")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    for name in ("host", "port", "database_url"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    if getattr(args, "regions", None):
        overrides["VIGIL_REGIONS"] = args.regions
    return Settings(**overrides)  # type: ignore[arg-type]


def _run(main: Coroutine[Any, Any, T]) -> T:
    """Run a long-lived process's event loop, on uvloop where it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _cmd_migrate(args: argparse.Namespace) -> int:
    from store.migrate import upgrade

    settings = _settings(args)
    upgrade(settings.database_url)
    print(f"store at {settings.database_url} is up to date")
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from store.heartbeats import HEARTBEAT_REGION
    from workers.worker import serve_worker

    if args.region == HEARTBEAT_REGION:
        raise UserError(f"region {HEARTBEAT_REGION!r} is reserved for heartbeat monitors")
    settings = _settings(args)
    _logging(settings)
    concurrency = args.concurrency or settings.worker_concurrency
    _run(serve_worker(settings, region=args.region, concurrency=concurrency))
    return 0


def _cmd_api(args: argparse.Namespace) -> int:
    from workers.serve import serve

    settings = _settings(args)
    _logging(settings)
    _run(serve(settings, api=True, regions=[], bootstrap=True))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from store.migrate import upgrade
    from workers.serve import serve

    settings = _settings(args)
    _logging(settings)
    upgrade(settings.database_url)
    _run(serve(settings, api=True, regions=settings.regions, bootstrap=True, dispatcher=True))
    return 0


def _cmd_dispatcher(args: argparse.Namespace) -> int:
    from workers.serve import serve

    settings = _settings(args)
    _logging(settings)
    _run(serve(settings, api=False, regions=[], bootstrap=False, dispatcher=True))
    return 0


def _cmd_create_org(args: argparse.Namespace) -> int:
    from workers.admin import create_org

    key = asyncio.run(create_org(_settings(args), name=args.name, slug=args.slug, plan=args.plan))
    print(f"Organization '{args.slug}' created. Its admin API key (shown once):\n\n  {key}\n")
    return 0


def _cmd_create_key(args: argparse.Namespace) -> int:
    from workers.admin import create_key

    key = asyncio.run(
        create_key(_settings(args), org_slug=args.org, name=args.name, read_only=args.read_only)
    )
    print(f"API key for '{args.org}' (shown once):\n\n  {key}\n")
    return 0


def _cmd_set_plan(args: argparse.Namespace) -> int:
    from workers.admin import set_plan

    for line in asyncio.run(set_plan(_settings(args), org_slug=args.org, plan=args.plan)):
        print(line)
    return 0


def _cmd_list_workers(args: argparse.Namespace) -> int:
    from workers.admin import list_workers

    for line in asyncio.run(list_workers(_settings(args))):
        print(line)
    return 0


def _serving(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="address to listen on (env VIGIL_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (env VIGIL_PORT, default 8080)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigil", description="Vigil uptime monitoring")
    parser.add_argument("--database-url", help="store URL (env VIGIL_DATABASE_URL)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="everything in one process: API, workers, housekeeping")
    _serving(p)
    p.add_argument("--regions", help="comma-separated regions to run workers for (VIGIL_REGIONS)")
    p.set_defaults(fn=_cmd_run)

    p = sub.add_parser("api", help="serve the REST API only")
    _serving(p)
    p.set_defaults(fn=_cmd_api)

    p = sub.add_parser("worker", help="run one worker process for a region")
    p.add_argument("--region", required=True)
    p.add_argument(
        "--concurrency", type=int, help="checks in flight at most (VIGIL_WORKER_CONCURRENCY, 256)"
    )
    p.set_defaults(fn=_cmd_worker)

    p = sub.add_parser("dispatcher", help="deliver queued alerts (any number may run)")
    p.set_defaults(fn=_cmd_dispatcher)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(fn=_cmd_migrate)

    admin = sub.add_parser("admin", help="administration").add_subparsers(
        dest="admin_command", required=True
    )
    p = admin.add_parser("create-org", help="create an organization and its admin key")
    p.add_argument("--name", required=True)
    p.add_argument("--slug", required=True)
    p.add_argument("--plan", default=None, help="FREE, PRO, BUSINESS or ENTERPRISE")
    p.set_defaults(fn=_cmd_create_org)
    p = admin.add_parser("create-key", help="create an API key for an organization's owner")
    p.add_argument("--org", required=True, help="organization slug")
    p.add_argument("--name", default="CLI key")
    p.add_argument("--read-only", action="store_true")
    p.set_defaults(fn=_cmd_create_key)
    p = admin.add_parser("set-plan", help="change an organization's plan by hand")
    p.add_argument("--org", required=True, help="organization slug")
    p.add_argument("plan", help="FREE, PRO, BUSINESS or ENTERPRISE")
    p.set_defaults(fn=_cmd_set_plan)
    p = admin.add_parser("list-workers", help="list live workers by region")
    p.set_defaults(fn=_cmd_list_workers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.fn(args)
    except KeyboardInterrupt:
        return 130
    except UserError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())

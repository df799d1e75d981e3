"""The ``vigil`` console script: run, api, worker, migrate, admin."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from store.config import Settings
from store.secrets import SecretKeyError
from workers.admin import UserError

log = logging.getLogger("vigil")
T = TypeVar("T")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    for name in ("host", "port", "database_url", "metrics_port"):
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
    from workers.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)


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

    key = asyncio.run(
        create_org(
            _settings(args), name=args.name, slug=args.slug, plan=args.plan, trusted=args.trusted
        )
    )
    print(f"Organization '{args.slug}' created. Its admin API key (shown once):\n\n  {key}\n")
    return 0


def _cmd_rotate_secret_key(args: argparse.Namespace) -> int:
    from store.secrets import generate_key
    from workers.admin import rotate_secret_key

    if args.generate:
        print(generate_key())
        return 0
    print(asyncio.run(rotate_secret_key(_settings(args))))
    return 0


def _cmd_trust_org(args: argparse.Namespace) -> int:
    from workers.admin import set_trust

    trusted = args.admin_command == "trust-org"
    asyncio.run(set_trust(_settings(args), slug=args.slug, trusted=trusted))
    if trusted:
        print(f"Organization '{args.slug}' is trusted: its checks may reach internal addresses.")
    else:
        print(f"Organization '{args.slug}' is untrusted: its checks reach public addresses only.")
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


def _cmd_status(args: argparse.Namespace) -> int:
    from store.fleet_status import render
    from workers.status import status_from_api, status_from_store

    if args.url:
        if not args.key:
            raise UserError("--url needs --key (or VIGIL_API_KEY): an API key of the deployment")
        snapshot = asyncio.run(status_from_api(args.url, args.key))
    else:
        snapshot = asyncio.run(status_from_store(_settings(args)))
    print(render(snapshot))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from workers.configfile import export_org

    exported = asyncio.run(export_org(_settings(args), org_slug=args.org))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(exported.text)
    else:
        sys.stdout.write(exported.text)
    counts = ", ".join(f"{n} {section}" for section, n in exported.counts.items())
    print(f"exported {counts}", file=sys.stderr)
    if exported.variables:
        names = " ".join(v.name for v in exported.variables)
        print(f"set these environment variables before 'vigil apply': {names}", file=sys.stderr)
    return 0


def _cmd_apply(args: argparse.Namespace) -> int:
    from workers.configfile import apply_file

    plan = asyncio.run(
        apply_file(
            _settings(args),
            path=args.file,
            org_slug=args.org,
            dry_run=args.dry_run,
            prune=args.prune,
            show=print,
        )
    )
    if plan.dry_run:
        print("Dry run: nothing was changed.")
    elif any(c.action != "unchanged" for c in plan.changes):
        print("Applied.")
    else:
        print("Nothing to change.")
    return 0


def _metrics(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--metrics-port",
        type=int,
        help="serve Prometheus /metrics on this port (VIGIL_METRICS_PORT; host VIGIL_METRICS_HOST)",
    )


def _cmd_rollup(args: argparse.Namespace) -> int:
    from workers.admin import backfill_rollups

    if not args.backfill:
        raise UserError("say what to do: 'vigil rollup --backfill [--since 2026-03-01]'")
    read = asyncio.run(backfill_rollups(_settings(args), since=args.since))
    print(f"rollups rebuilt from {read} raw results")
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
    _metrics(p)
    p.set_defaults(fn=_cmd_worker)

    p = sub.add_parser("dispatcher", help="deliver queued alerts (any number may run)")
    _metrics(p)
    p.set_defaults(fn=_cmd_dispatcher)

    p = sub.add_parser(
        "status", help="regions, workers, lateness, pending checks, alert backlog, monitors down"
    )
    p.add_argument("--url", help="read a remote deployment's API instead of the store")
    p.add_argument("--key", default=os.environ.get("VIGIL_API_KEY"), help="API key for --url")
    p.set_defaults(fn=_cmd_status)

    p = sub.add_parser(
        "export", help="write an organization's monitors, channels, windows and pages as YAML"
    )
    p.add_argument("--org", help="organization slug (default: the only one)")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")
    p.set_defaults(fn=_cmd_export)

    p = sub.add_parser(
        "apply", help="make an organization match a YAML file (docs/monitors-as-code.md)"
    )
    p.add_argument("file", help="the YAML file ('-' for standard input)")
    p.add_argument("--org", help="organization slug (default: the only one)")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument(
        "--prune", action="store_true", help="delete what a section of the file does not list"
    )
    p.set_defaults(fn=_cmd_apply)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(fn=_cmd_migrate)

    p = sub.add_parser("rollup", help="rebuild the uptime and timing rollups from raw results")
    p.add_argument("--backfill", action="store_true", help="rebuild (idempotent)")
    p.add_argument("--since", help="from this UTC day on (default: the oldest raw result)")
    p.set_defaults(fn=_cmd_rollup)

    admin = sub.add_parser("admin", help="administration").add_subparsers(
        dest="admin_command", required=True
    )
    p = admin.add_parser("create-org", help="create an organization and its admin key")
    p.add_argument("--name", required=True)
    p.add_argument("--slug", required=True)
    p.add_argument("--plan", default=None, help="FREE, PRO, BUSINESS or ENTERPRISE")
    p.add_argument(
        "--trusted",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="may its checks reach internal addresses (default VIGIL_TRUST_NEW_ORGS, false)",
    )
    p.set_defaults(fn=_cmd_create_org)
    p = admin.add_parser(
        "trust-org", help="let an organization's checks and channels reach internal addresses"
    )
    p.add_argument("slug", help="organization slug")
    p.set_defaults(fn=_cmd_trust_org)
    p = admin.add_parser("untrust-org", help="limit an organization to public addresses")
    p.add_argument("slug", help="organization slug")
    p.set_defaults(fn=_cmd_trust_org)
    p = admin.add_parser(
        "rotate-secret-key", help="re-encrypt stored secrets with a new key (docs/security.md)"
    )
    p.add_argument(
        "--generate", action="store_true", help="only print a new key for VIGIL_SECRET_KEY"
    )
    p.set_defaults(fn=_cmd_rotate_secret_key)
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
    except (UserError, SecretKeyError) as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())

"""The `collector` command: serve, migrate, sql (and the consent/rights commands)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence

import orjson

from . import logs, sqlclient
from .config import ConfigError
from .serving import build_server
from .settings import SettingsError, from_env
from .store import MigrationsMissing, StoreLocked, migrate, open_store

log = logging.getLogger("collector")


def _serve(args: argparse.Namespace) -> int:
    settings = from_env()
    logs.configure(settings.log_level)
    if settings.config_path.name == "sites.toml" and "demo" in settings.config_path.parts:
        log.warning("COLLECTOR_CONFIG is not set: serving the demo site config")
    if args.workers is not None:
        from .workers import run

        return run(settings, args.host, args.port, args.workers)
    from .app import create_app

    build_server(create_app(settings), host=args.host, port=args.port).run()
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from . import cluster
    from .salt_table import DDL as SALTS_DDL
    from .secret_key import DDL as SECRET_DDL
    from .store import meta_statements, migration_files

    if args.cluster is not None:
        try:
            cluster.check_name(args.cluster)
        except ValueError as exc:
            print(f"collector: {exc}", file=sys.stderr)
            return 2
    # On a cluster the salts table is created here, on every host, before any collector starts (a collector
    # would create it on the one host it reaches).
    # The same for the consented ids' key: one replicated table, so every collector of the cluster reads one key.
    extra = ([cluster.everywhere(SALTS_DDL, args.cluster), cluster.everywhere(SECRET_DDL, args.cluster)]
             if args.cluster else [])
    if args.dry_run:
        statements = meta_statements(args.cluster) + [s for _, group in cluster.plan(migration_files(), args.cluster)
                                                      for s in group] + extra
        print(";\n\n".join(s.strip() for s in statements) + ";")
        return 0
    settings = from_env()
    logs.configure(settings.log_level)
    store = open_store(settings)
    try:
        applied = migrate(store, cluster=args.cluster)
        for statement in extra:
            store.command(statement)
    finally:
        store.close()
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0


@contextlib.contextmanager
def _engine_stderr_silenced() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+\w+\s*;?\s*$", re.IGNORECASE)


def _sql(args: argparse.Namespace) -> int:
    """One query on the store; through a running server's /sql when that server holds the embedded store."""
    settings = from_env()
    own_format = bool(_TRAILING_FORMAT.search(args.query))
    try:
        with _engine_stderr_silenced():  # the engine prints its own lock error; ours below says what to do
            store = open_store(settings)
    except StoreLocked as exc:
        if not settings.admin_token:
            raise StoreLocked(f"{exc} Or set COLLECTOR_ADMIN_TOKEN to query it through the server's /sql.") from None
        fmt = "JSONEachRow" if args.format == "json" and not own_format else "TabSeparatedWithNames"
        try:
            url = args.url or os.environ.get("COLLECTOR_URL", sqlclient.DEFAULT_URL)
            body = sqlclient.query(url, settings.admin_token, args.query, fmt)
        except sqlclient.RemoteError as remote:
            print(f"collector: query failed: {remote}", file=sys.stderr)
            return 1
        if own_format or args.format != "json":
            sys.stdout.buffer.write(body)
        else:
            rows = [orjson.loads(line) for line in body.splitlines() if line]
            print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return 0
    try:
        migrate(store)
        if own_format:  # the engine writes the format the query names
            sys.stdout.buffer.write(store.client.raw_query(args.query))
            return 0
        result = store.client.query(args.query)
        if args.format == "json":
            print(orjson.dumps([dict(zip(result.column_names, row, strict=True)) for row in result.result_rows],
                               default=str, option=orjson.OPT_INDENT_2).decode())
        else:
            print("\t".join(result.column_names))
            for row in result.result_rows:
                print("\t".join("" if v is None else str(v) for v in row))
    finally:
        store.close()
    return 0


def _move(args: argparse.Namespace) -> int:
    """Copy the embedded store of COLLECTOR_DATA_DIR to the server at --to (see collector/move.py)."""
    from dataclasses import replace

    from . import move, secret_key
    from .store import Store

    settings = from_env()
    logs.configure(settings.log_level)
    source = open_store(replace(settings, clickhouse_url=None))
    try:
        target = Store(move.connect(args.to), embedded=False)
        try:
            report = move.run(source, target, salts_dir=settings.data_dir / "salts")
            # The consented ids' key: this store's secret.key seeds the server's, which every collector there reads.
            secret_key.from_store(target, settings.data_dir)
        finally:
            target.close()
    except move.MoveError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 1
    finally:
        source.close()
    print("table\tstore rows\tserver rows")
    for table, here, there in report.counts:
        print(f"{table}\t{here}\t{there}" + ("" if here == there else "\tMISMATCH"))
    print(f"moved {len(report.moved)} partition(s), {len(report.skipped)} already on the server; "
          f"{report.salts_seeded} daily salt(s) given to the server", file=sys.stderr)
    print("consented visitor ids stay keyed as before: the server now holds this store's secret.key "
          "(analytics_meta.secret_key), which every collector writing to it reads", file=sys.stderr)
    return 0 if report.verified else 1


def _dsar(args: argparse.Namespace) -> int:
    """Data-subject export/delete and site purge on the store (embedded: the server must be stopped)."""
    from . import rights

    settings = from_env()
    try:
        site = rights.check_site(args.site)
        visitor = rights.parse_visitor(args.visitor) if args.action != "purge" else 0
    except rights.RightsError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 2
    store = open_store(settings)
    try:
        migrate(store)
        if args.action == "export":
            result = rights.export_visitor(store, site, visitor, time.time())
        elif args.action == "delete":
            result = rights.delete_visitor(store, site, visitor)
        else:
            result = rights.purge_site(store, site)
    finally:
        store.close()
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0 if result.get("verified", True) else 1


def _inventory(args: argparse.Namespace) -> int:
    from . import config as config_mod
    from . import inventory

    settings = from_env()
    config = config_mod.load(settings.config_path)
    if args.site is not None and args.site not in config.sites:
        print(f"collector: site {args.site!r} is not in {settings.config_path}", file=sys.stderr)
        return 2
    store = open_store(settings)
    try:
        migrate(store)
        data = inventory.build(store, config, args.site, time.time())
    finally:
        store.close()
    print(inventory.markdown(data) if args.format == "markdown" else
          orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
    return 0


def _spool(args: argparse.Namespace) -> int:
    """`spool replay`: insert the quarantined segments of every spool of the data dir with their tokens."""
    import dataclasses

    from . import config as config_mod
    from . import quarantine

    settings = from_env()
    logs.configure(settings.log_level)
    config = config_mod.load(settings.config_path)

    def retention(site: str) -> int:
        policy = config.sites.get(site)
        return policy.rollup_retention_days if policy else config_mod.DEFAULT_ROLLUP_DAYS

    paths = quarantine.segments(settings.data_dir / "spool")
    if args.dry_run or not paths:
        outcomes = quarantine.replay(None, paths, dry_run=True, drop_retention=retention)
    else:
        store = open_store(settings)
        try:
            migrate(store)
            outcomes = quarantine.replay(store, paths, dry_run=False, drop_retention=retention)
        finally:
            store.close()
    print(orjson.dumps({"dry_run": args.dry_run, "segments": [dataclasses.asdict(o) for o in outcomes]},
                       option=orjson.OPT_INDENT_2).decode())
    return 1 if any(o.result.startswith("refused") for o in outcomes) else 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="collector", description="Privacy-first analytics event collector")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP collector")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=_positive, metavar="N",
                       help="N ingest processes sharing the port (embedded: plus one store owner; see the "
                            "manual, Deploy: workers). Without it: one process.")
    serve.set_defaults(func=_serve)
    mig = sub.add_parser("migrate", help="apply pending schema migrations")
    mig.add_argument("--cluster", metavar="NAME",
                     help="render the migrations ON CLUSTER NAME (Replicated engines, local + Distributed tables; "
                          "see docs/deploy/cluster.md) and apply them through CLICKHOUSE_URL")
    mig.add_argument("--dry-run", action="store_true", help="print the statements instead of applying them")
    mig.set_defaults(func=_migrate)
    sql = sub.add_parser("sql", help="run one SQL query on the store (a FORMAT clause works); while a server "
                         "holds the embedded store, through its /sql as the admin (COLLECTOR_ADMIN_TOKEN)")
    sql.add_argument("query", help="one ClickHouse SQL statement")
    sql.add_argument("--format", choices=("tsv", "json"), default="tsv", help="output when the query has no FORMAT")
    sql.add_argument("--url",
                     help="the running collector to ask when it holds the store (default: $COLLECTOR_URL or "
                          f"{sqlclient.DEFAULT_URL})")
    sql.set_defaults(func=_sql)
    move = sub.add_parser("move", help="copy the embedded store (COLLECTOR_DATA_DIR) to a ClickHouse server, "
                          "table by table; resumable; verifies row counts. Stop the collector first.")
    move.add_argument("--to", required=True, metavar="URL",
                      help="the server: http(s)://user:password@host:port/analytics[?proxy_path=/path], as a "
                           "user that may create tables and alter partitions")
    move.set_defaults(func=_move)
    dsar = sub.add_parser("dsar", help="data-subject export/delete by stored visitor id, or purge a site")
    dsar.add_argument("action", choices=("export", "delete", "purge"),
                      help="export or delete one visitor's rows and receipts, or purge every row of a site")
    dsar.add_argument("--site", required=True, help="the site id")
    dsar.add_argument("--visitor", help="the pseudonymous visitor id as stored (UInt64); not for purge")
    dsar.set_defaults(func=_dsar)
    spool = sub.add_parser("spool", help="the spool's quarantine: segments the store refused because of their rows")
    spool_sub = spool.add_subparsers(dest="spool_command", required=True)
    replay = spool_sub.add_parser("replay", help="insert every quarantined segment again with its deduplication "
                                  "tokens, once the cause is fixed (embedded: stop the server first)")
    replay.add_argument("--dry-run", action="store_true",
                        help="list the segments, their rows per table and tokens; insert nothing")
    replay.set_defaults(func=_spool)
    inv = sub.add_parser("inventory", help="the privacy inventory: every stored field, why, tiers, retention")
    inv.add_argument("--format", choices=("json", "markdown"), default="json", help="output format")
    inv.add_argument("--site", help="one site's inventory (its retention and tiers); default: every site")
    inv.set_defaults(func=_inventory)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ConfigError, SettingsError, StoreLocked, MigrationsMissing) as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a query error: the engine's message, not a traceback
        from clickhouse_connect.driver.exceptions import ClickHouseError

        if isinstance(exc, ClickHouseError):
            print(f"collector: query failed: {str(exc).splitlines()[0][:500]}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())

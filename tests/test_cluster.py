"""Acceptance (f): one source renders every deployment. Without a cluster, `migrate` runs each migration file
exactly as written (the statements are recorded by a store stand-in that executes nothing: only which SQL is
sent is under test here); with one, every statement is ON CLUSTER DDL that the engine's own parser accepts
(`formatQuery` on chDB: no cluster runs in the test suite), stored tables are Replicated with Keeper paths
holding {shard}/{replica} and have a Distributed twin, and materialised views join local to local."""

from __future__ import annotations

import re
from typing import Any

import pytest

from collector import cli, cluster, rights
from collector.salt_table import DDL as SALTS_DDL
from collector.secret_key import DDL as SECRET_DDL
from collector.settings import SettingsError, from_env
from collector.store import Store, meta_statements, migrate, migration_files

CLUSTER = "analytics_cluster"


class Recorder:
    """Takes the statements `migrate` sends; a store with no migration recorded yet, where this caller wins
    every migration claim it makes (when migrations are claimed before they are applied)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.owner = ""

    def command(self, sql: str, settings: dict[str, Any] | None = None) -> None:
        self.sent.append(sql)
        claim = re.search(r"INSERT INTO analytics_meta\.migration_claims .*'(\w+)'\)", sql)
        if claim:
            self.owner = claim.group(1)

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return [(self.owner,)] if sql.startswith("SELECT owner") else []


def rendered() -> list[str]:
    return (meta_statements(CLUSTER) + [s for _, group in cluster.plan(migration_files(), CLUSTER) for s in group]
            + [cluster.everywhere(SALTS_DDL, CLUSTER), cluster.everywhere(SECRET_DDL, CLUSTER)])


def test_without_a_cluster_migrate_runs_the_files_as_written() -> None:
    files = migration_files()
    assert all(cluster.render(sql, None) == [sql] for _, _, sql in files)
    recorder = Recorder()
    migrate(recorder)  # type: ignore[arg-type]
    applied = [s for s in recorder.sent
               if not s.startswith("INSERT INTO analytics_meta.") and "analytics_meta.migration_claims" not in s]
    assert applied == meta_statements() + [sql for _, _, sql in files]
    assert meta_statements()[1] == cluster.everywhere(meta_statements()[1], None)


def test_every_cluster_statement_parses_in_the_engine(session_store: Store) -> None:
    statements = rendered()
    assert len(statements) > len(migration_files()) + 20
    for statement in statements:
        formatted = session_store.query("SELECT formatQuery({q:String})", {"q": statement})[0][0]
        assert formatted.startswith(("CREATE", "ALTER", "INSERT")), statement[:200]
        if not formatted.startswith("INSERT"):  # a backfill INSERT … SELECT is not DDL: it runs through Distributed
            assert f"ON CLUSTER {CLUSTER}" in formatted, statement[:200]


def test_stored_tables_are_replicated_locals_under_distributed_tables() -> None:
    statements = rendered()
    locals_ = {m.group(1): s for s in statements
               if (m := re.search(r"CREATE TABLE IF NOT EXISTS analytics\.(\w+)_local ", s))}
    distributed = {m.group(1): m.group(2) for s in statements
                   if (m := re.search(r"CREATE TABLE IF NOT EXISTS analytics\.(\w+) ON CLUSTER .* ENGINE = Distributed"
                                      rf"\('{CLUSTER}', 'analytics', '\w+', (.+)\)$", s))}
    assert set(locals_) == set(distributed) and {"events", "visits", "pages_daily", "visits_closed"} <= set(locals_)
    for name, sql in locals_.items():
        if "ENGINE = Null" in sql:
            continue
        assert re.search(rf"ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/{{shard}}/analytics/{name}_local', "
                         r"'\{replica\}'", sql), name
    # A visitor's rows stay on one shard; rows without a visitor go by site (deterministic: a retry lands alike).
    assert distributed["events"] == distributed["visits"] == "intHash64(visitor_id)"
    assert distributed["dropped_daily"] == distributed["site_privacy"] == "cityHash64(site)"
    assert ("ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/site_privacy_local', '{replica}', "
            "updated_at)") in locals_["site_privacy"]
    views = [s for s in statements if "CREATE MATERIALIZED VIEW" in s]
    assert views and all(re.search(r"TO analytics\.\w+_local AS", v) for v in views)
    assert all(re.search(r"FROM analytics\.(events|visits)_local\b", v) for v in views)
    alters = [s for s in statements if s.lstrip("-").strip().startswith("ALTER") or "\nALTER" in s]
    altered = {m.group(1) for a in alters if (m := re.search(r"ALTER TABLE (\S+)", a))}
    assert altered == {"analytics.events_local", "analytics.events", "analytics.consent_receipts_local",
                       "analytics.consent_receipts", "analytics.visits_watermark_local", "analytics.visits_watermark"}
    salts, key = rendered()[-2:]
    assert "ReplicatedMergeTree('/clickhouse/tables/all/analytics_meta/daily_salts', '{shard}-{replica}')" in salts
    assert "ReplicatedMergeTree('/clickhouse/tables/all/analytics_meta/secret_key', '{shard}-{replica}')" in key


def test_dry_run_prints_the_cluster_statements_without_a_store(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate", "--cluster", CLUSTER, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count(f"ON CLUSTER '{CLUSTER}'") == len([s for s in rendered() if "ON CLUSTER" in s])
    assert "analytics_meta.daily_salts" in out and "ENGINE = Distributed" in out
    # The consented ids' key is one replicated table on every host: every collector of the cluster reads one key.
    assert re.search(r"analytics_meta\.secret_key ON CLUSTER '\w+'.*ReplicatedMergeTree", out, re.S)
    assert cli.main(["migrate", "--cluster", "no such; DROP", "--dry-run"]) == 2
    assert "letters, digits and underscores" in capsys.readouterr().err


def test_erasure_on_a_cluster_runs_on_every_replicas_local_table(session_store: Store) -> None:
    """Withdrawals, data-subject deletes and purges: the mutation targets the local tables ON CLUSTER (a
    Distributed table takes none), its proof reads every replica's mutations; both parse in the engine."""
    where = "site = {site:String} AND visitor_id = {visitor:UInt64}"
    statements = [rights.delete_sql("events", where, CLUSTER), rights.mutation_sql(CLUSTER)]
    assert statements[0].startswith(f"ALTER TABLE analytics.events_local ON CLUSTER '{CLUSTER}' DELETE WHERE")
    assert f"clusterAllReplicas('{CLUSTER}', system.mutations)" in statements[1]
    for statement in statements:
        assert session_store.query("SELECT formatQuery({q:String})", {"q": statement})[0][0]
    assert rights.delete_sql("events", where) == f"ALTER TABLE analytics.events DELETE WHERE {where}"  # one server


def test_the_cluster_setting_needs_a_server_and_a_plain_name() -> None:
    url = "http://admin:pw@127.0.0.1:8123/analytics"
    assert from_env({"CLICKHOUSE_URL": url, "CLICKHOUSE_CLUSTER": CLUSTER}).clickhouse_cluster == CLUSTER
    with pytest.raises(SettingsError, match="without CLICKHOUSE_URL"):
        from_env({"CLICKHOUSE_CLUSTER": CLUSTER})
    with pytest.raises(SettingsError, match="cluster name"):
        from_env({"CLICKHOUSE_URL": url, "CLICKHOUSE_CLUSTER": "c' ON CLUSTER x"})

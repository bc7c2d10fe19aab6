"""Versioned schema: an ordered list of migrations, applied once each.

A store records the number of migrations it has seen in ``meta.schema_version``.
Opening applies the missing ones in one transaction; a store whose version is
higher than :data:`SCHEMA_VERSION` was written by a newer release and is refused
untouched. Append new migrations; never edit a released one.

The SQL is the portable subset SQLite and PostgreSQL share; the only dialect
token is ``{serial}`` for an auto-increment integer key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

MIGRATIONS: list[str] = [
    # 1: tracking core — runs, stage runs, params, metrics, artifacts, fingerprints, tags, events
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        notebook TEXT,
        name TEXT,
        trigger TEXT NOT NULL,
        status TEXT NOT NULL,
        started DOUBLE PRECISION NOT NULL,
        ended DOUBLE PRECISION,
        code_version TEXT,
        git_dirty INTEGER,
        environment TEXT,
        parent_run_id TEXT,
        schedule_id TEXT,
        error TEXT,
        host TEXT,
        pid INTEGER,
        run_params TEXT
    );
    CREATE INDEX runs_started ON runs (started);
    CREATE INDEX runs_notebook ON runs (notebook, started);
    CREATE INDEX runs_status ON runs (status, started);

    CREATE TABLE stage_runs (
        id {serial},
        run_id TEXT NOT NULL REFERENCES runs (id),
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        status TEXT NOT NULL,
        started DOUBLE PRECISION NOT NULL,
        ended DOUBLE PRECISION,
        code_digest TEXT,
        error_type TEXT,
        error_message TEXT,
        error_line INTEGER,
        variables TEXT,
        notes TEXT,
        UNIQUE (run_id, name, attempt)
    );
    CREATE INDEX stage_runs_run ON stage_runs (run_id, started);

    CREATE TABLE params (
        run_id TEXT NOT NULL REFERENCES runs (id),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        stage_id INTEGER,
        PRIMARY KEY (run_id, key)
    );

    CREATE TABLE metrics (
        id {serial},
        run_id TEXT NOT NULL REFERENCES runs (id),
        key TEXT NOT NULL,
        value DOUBLE PRECISION,
        is_nan INTEGER NOT NULL DEFAULT 0,
        step INTEGER NOT NULL,
        timestamp DOUBLE PRECISION NOT NULL,
        stage_id INTEGER
    );
    CREATE INDEX metrics_run_key ON metrics (run_id, key, step);

    CREATE TABLE artifacts (
        run_id TEXT NOT NULL REFERENCES runs (id),
        name TEXT NOT NULL,
        digest TEXT NOT NULL,
        size BIGINT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        stage_id INTEGER,
        PRIMARY KEY (run_id, name)
    );

    CREATE TABLE fingerprints (
        id {serial},
        run_id TEXT NOT NULL REFERENCES runs (id),
        stage_id INTEGER,
        name TEXT,
        role TEXT,
        kind TEXT NOT NULL,
        digest TEXT NOT NULL,
        rows BIGINT,
        size BIGINT,
        schema TEXT,
        created DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX fingerprints_run ON fingerprints (run_id);
    CREATE INDEX fingerprints_digest ON fingerprints (digest);

    CREATE TABLE tags (
        run_id TEXT NOT NULL REFERENCES runs (id),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );

    CREATE TABLE events (
        id {serial},
        kind TEXT NOT NULL,
        subject TEXT,
        run_id TEXT,
        payload TEXT,
        created DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX events_kind ON events (kind, id);
    """,
    # model registry — versions, aliases and their audit history, gate results, served inputs
    """
    CREATE TABLE models (
        name TEXT PRIMARY KEY,
        created DOUBLE PRECISION NOT NULL
    );

    CREATE TABLE model_versions (
        id {serial},
        model TEXT NOT NULL REFERENCES models (name),
        version INTEGER NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        flavour TEXT NOT NULL,
        format TEXT NOT NULL,
        model_type TEXT,
        digest TEXT NOT NULL,
        size BIGINT NOT NULL,
        trusted_types TEXT,
        input_schema TEXT,
        metrics TEXT,
        gates TEXT,
        gates_passed INTEGER,
        run_id TEXT,
        stage_id INTEGER,
        data_fingerprint TEXT,
        lineage TEXT,
        environment TEXT,
        description TEXT,
        UNIQUE (model, version)
    );

    CREATE TABLE aliases (
        model TEXT NOT NULL REFERENCES models (name),
        alias TEXT NOT NULL,
        version INTEGER NOT NULL,
        updated DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (model, alias)
    );

    CREATE TABLE alias_history (
        id {serial},
        model TEXT NOT NULL,
        alias TEXT NOT NULL,
        action TEXT NOT NULL,
        from_version INTEGER,
        to_version INTEGER,
        moved INTEGER NOT NULL,
        run_id TEXT,
        reason TEXT,
        comparison TEXT,
        created DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX alias_history_alias ON alias_history (model, alias, id);

    CREATE TABLE gate_results (
        id {serial},
        run_id TEXT NOT NULL,
        stage_id INTEGER,
        expression TEXT NOT NULL,
        passed INTEGER NOT NULL,
        soft INTEGER NOT NULL,
        clauses TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX gate_results_run ON gate_results (run_id, id);

    CREATE TABLE served_inputs (
        id {serial},
        model TEXT NOT NULL,
        version INTEGER NOT NULL,
        received DOUBLE PRECISION NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX served_inputs_model ON served_inputs (model, id);
    """,
    # scheduler — schedules and their fires (one row per schedule and due time: the insert that wins runs it)
    """
    CREATE TABLE schedules (
        id TEXT PRIMARY KEY,
        notebook TEXT NOT NULL,
        base_dir TEXT NOT NULL,
        params TEXT NOT NULL,
        stages TEXT,
        from_stage TEXT,
        cron TEXT,
        timezone TEXT,
        on_change TEXT,
        after TEXT,
        on_drift TEXT,
        timeout DOUBLE PRECISION,
        retries INTEGER NOT NULL DEFAULT 0,
        catchup TEXT NOT NULL DEFAULT 'skip',
        max_concurrency INTEGER NOT NULL DEFAULT 1,
        paused INTEGER NOT NULL DEFAULT 0,
        notify TEXT,
        kernel TEXT,
        created DOUBLE PRECISION NOT NULL,
        cron_cursor DOUBLE PRECISION,
        event_cursor INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE schedule_fires (
        id {serial},
        schedule_id TEXT NOT NULL REFERENCES schedules (id),
        fire_key TEXT NOT NULL,
        trigger TEXT NOT NULL,
        due DOUBLE PRECISION NOT NULL,
        run_id TEXT NOT NULL,
        state TEXT NOT NULL,
        claimed_by TEXT,
        created DOUBLE PRECISION NOT NULL,
        UNIQUE (schedule_id, fire_key)
    );
    CREATE INDEX schedule_fires_state ON schedule_fires (schedule_id, state);
    """,
    # monitoring — reference profiles of model versions, stored drift reports
    """
    CREATE TABLE reference_profiles (
        model TEXT NOT NULL,
        version INTEGER NOT NULL,
        run_id TEXT,
        profile TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (model, version)
    );

    CREATE TABLE drift_reports (
        id {serial},
        run_id TEXT,
        stage_id INTEGER,
        model TEXT,
        version INTEGER,
        reference TEXT,
        drifted INTEGER NOT NULL,
        drift_share DOUBLE PRECISION NOT NULL,
        drifted_columns TEXT NOT NULL,
        report TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX drift_reports_model ON drift_reports (model, id);
    CREATE INDEX drift_reports_run ON drift_reports (run_id);
    """,
    # metrics as series and points: a point row holds integers and floats only, so a batch of a
    # thousand values is one short insert into an integer index (2x faster than text keys per row).
    # ``metrics`` stays readable as a view with the old columns.
    """
    CREATE TABLE metric_series (
        id {serial},
        run_id TEXT NOT NULL REFERENCES runs (id),
        key TEXT NOT NULL,
        UNIQUE (run_id, key)
    );
    CREATE TABLE metric_points (
        id {serial},
        series_id BIGINT NOT NULL REFERENCES metric_series (id),
        step INTEGER NOT NULL,
        value DOUBLE PRECISION,
        is_nan INTEGER NOT NULL DEFAULT 0,
        timestamp DOUBLE PRECISION NOT NULL,
        stage_id INTEGER
    );
    CREATE INDEX metric_points_series ON metric_points (series_id, step);
    INSERT INTO metric_series (run_id, key) SELECT DISTINCT run_id, key FROM metrics;
    INSERT INTO metric_points (series_id, step, value, is_nan, timestamp, stage_id)
        SELECT s.id, m.step, m.value, m.is_nan, m.timestamp, m.stage_id
        FROM metrics m JOIN metric_series s ON s.run_id = m.run_id AND s.key = m.key ORDER BY m.id;
    DROP TABLE metrics;
    CREATE VIEW metrics AS
        SELECT p.id, s.run_id, s.key, p.value, p.is_nan, p.step, p.timestamp, p.stage_id
        FROM metric_points p JOIN metric_series s ON s.id = p.series_id;
    """,
    # performance: what serving predicted (beside the sampled inputs), labels as they arrive, the
    # reference each version is estimated against, and the performance checks made
    """
    ALTER TABLE served_inputs ADD COLUMN request_id TEXT;
    ALTER TABLE served_inputs ADD COLUMN prediction TEXT;
    ALTER TABLE served_inputs ADD COLUMN proba TEXT;
    CREATE INDEX served_inputs_request ON served_inputs (model, request_id);
    CREATE TABLE labels (
        model TEXT NOT NULL,
        request_id TEXT NOT NULL,
        label TEXT NOT NULL,
        received DOUBLE PRECISION NOT NULL,
        updates INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (model, request_id)
    );
    CREATE TABLE performance_references (
        model TEXT NOT NULL,
        version INTEGER NOT NULL,
        kind TEXT NOT NULL,
        reference TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (model, version)
    );
    CREATE TABLE performance_reports (
        id {serial},
        run_id TEXT,
        stage_id INTEGER,
        model TEXT NOT NULL,
        version INTEGER,
        dropped INTEGER NOT NULL,
        report TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX performance_reports_model ON performance_reports (model, id);
    """,
    # schedules can retrain when a model's (estimated or realized) performance drops
    """
    ALTER TABLE schedules ADD COLUMN on_performance_drop TEXT;
    """,
    # cluster executors — where a run executes (executor URL, worker address), why it waits, its attempt;
    # who submitted it (host:pid); a schedule's executor, resources and queue timeout, and its next cron
    # time (so a tick reads only the schedules that can be due instead of evaluating every cron)
    """
    ALTER TABLE runs ADD COLUMN executor TEXT;
    ALTER TABLE runs ADD COLUMN worker TEXT;
    ALTER TABLE runs ADD COLUMN waiting TEXT;
    ALTER TABLE runs ADD COLUMN attempt INTEGER;
    ALTER TABLE runs ADD COLUMN submitted_by TEXT;
    ALTER TABLE schedules ADD COLUMN executor TEXT;
    ALTER TABLE schedules ADD COLUMN resources TEXT;
    ALTER TABLE schedules ADD COLUMN queue_timeout DOUBLE PRECISION;
    ALTER TABLE schedules ADD COLUMN cron_next DOUBLE PRECISION;
    CREATE INDEX schedules_cron_next ON schedules (cron_next);
    """,
    # a large metric batch is one packed row (its series ids, steps and values as JSON) under the run's
    # reserved batch series: one insert instead of one per value (docs/architecture.md, "Metrics")
    """
    ALTER TABLE metric_points ADD COLUMN packed TEXT;
    DROP VIEW metrics;
    CREATE VIEW metrics AS
        SELECT p.id, s.run_id, s.key, p.value, p.is_nan, p.step, p.timestamp, p.stage_id
        FROM metric_points p JOIN metric_series s ON s.id = p.series_id WHERE p.packed IS NULL;
    """,
    # 10: a notebook renamed or moved in Lab: its runs and schedules follow it, and a kernel started before
    # the rename (whose JPY_SESSION_NAME still names the old file) records its next runs under the new name
    """
    CREATE TABLE notebook_renames (
        id {serial},
        old TEXT NOT NULL,
        new TEXT NOT NULL,
        renamed DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX notebook_renames_old ON notebook_renames (old);
    """,
    # 11: autolog — which params, metrics and artifacts of a run autolog wrote, and the value it wrote, so
    # `%mlops show` marks them and a value the user logged under the same name is never overwritten
    """
    CREATE TABLE autologged (
        run_id TEXT NOT NULL REFERENCES runs (id),
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        stage_id INTEGER,
        value TEXT,
        source TEXT,
        PRIMARY KEY (run_id, kind, key)
    );
    """,
    # 12: the stage cache (store/cache.py) — an entry is a key's saved outputs (a manifest artifact and the
    # objects it names, listed in cache_objects so eviction knows what else still uses a file), and a stage
    # restored from one is recorded beside its stage row: the run and stage it came from, the time saved;
    # a schedule may run its notebooks with the cache (`mlops schedule add --cache`)
    """
    CREATE TABLE cache_entries (
        key TEXT PRIMARY KEY,
        manifest TEXT NOT NULL,
        size BIGINT NOT NULL,
        run_id TEXT NOT NULL,
        stage_id BIGINT NOT NULL,
        stage TEXT NOT NULL,
        notebook TEXT,
        seconds DOUBLE PRECISION NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        last_used DOUBLE PRECISION NOT NULL,
        hits INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX cache_entries_used ON cache_entries (last_used);
    CREATE TABLE cache_objects (
        key TEXT NOT NULL,
        digest TEXT NOT NULL,
        PRIMARY KEY (key, digest)
    );
    CREATE INDEX cache_objects_digest ON cache_objects (digest);
    CREATE TABLE cached_stages (
        stage_id BIGINT PRIMARY KEY,
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        source_run_id TEXT NOT NULL,
        source_stage_id BIGINT NOT NULL,
        source_seconds DOUBLE PRECISION NOT NULL,
        restore_seconds DOUBLE PRECISION NOT NULL,
        restored TEXT,
        created DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX cached_stages_run ON cached_stages (run_id);
    CREATE INDEX cached_stages_source ON cached_stages (source_run_id);
    ALTER TABLE schedules ADD COLUMN cache INTEGER;
    """,
    # 13: alerts (store/alerts.py) — rules say which events go where (a target names an address or where its
    # secret is, never the secret); deliveries are the outbox: one row per rule and event, claimed, retried
    # with backoff, suppressed as a duplicate or over the rule's rate limit, its last error kept (redacted)
    """
    CREATE TABLE alert_rules (
        id {serial},
        kinds TEXT NOT NULL,
        channel TEXT NOT NULL,
        target TEXT NOT NULL,
        shown TEXT NOT NULL,
        notebook TEXT,
        model TEXT,
        severity TEXT NOT NULL,
        dedup_window DOUBLE PRECISION NOT NULL,
        rate_limit INTEGER NOT NULL,
        cursor BIGINT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        created_by TEXT
    );
    CREATE TABLE alert_deliveries (
        id {serial},
        rule_id INTEGER NOT NULL,
        event_id BIGINT,
        dedup_key TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt DOUBLE PRECISION,
        lease DOUBLE PRECISION,
        created DOUBLE PRECISION NOT NULL,
        sent DOUBLE PRECISION,
        UNIQUE (rule_id, event_id)
    );
    CREATE INDEX alert_deliveries_due ON alert_deliveries (status, next_attempt);
    CREATE INDEX alert_deliveries_rule ON alert_deliveries (rule_id, created);
    """,
    # 14: interop — which object of another system (an MLflow run, a registered model's version) each
    # imported object is, so importing the same store again skips what is already here
    """
    CREATE TABLE interop_links (
        system TEXT NOT NULL,
        kind TEXT NOT NULL,
        external_id TEXT NOT NULL,
        local_id TEXT NOT NULL,
        source TEXT,
        created DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (system, kind, external_id)
    );
    """,
    # 15: sweeps (store/sweeps.py) — a sweep is a parent run; its points are child runs (runs.parent_run_id,
    # trigger 'sweep'); this row says how the points were drawn, the selection rule and the best child
    """
    CREATE TABLE sweeps (
        run_id TEXT PRIMARY KEY,
        notebook TEXT,
        method TEXT NOT NULL,
        space TEXT NOT NULL,
        points INTEGER NOT NULL,
        seed INTEGER,
        select_rule TEXT,
        best_run_id TEXT,
        best_value DOUBLE PRECISION,
        failed INTEGER,
        created DOUBLE PRECISION NOT NULL
    );
    """,
    # 16: who — who started each run, moved an alias, or added or changed a schedule (MLOPS_USER, else
    # JUPYTERHUB_USER, else the OS user). The column is `username`: PostgreSQL reserves `user`. Retention
    # (`mlops gc`) deletes a run's events by run id.
    """
    ALTER TABLE runs ADD COLUMN username TEXT;
    CREATE INDEX runs_username ON runs (username, started);
    CREATE INDEX events_run ON events (run_id);
    ALTER TABLE alias_history ADD COLUMN username TEXT;
    ALTER TABLE schedules ADD COLUMN username TEXT;
    ALTER TABLE schedules ADD COLUMN changed_by TEXT;
    ALTER TABLE schedules ADD COLUMN changed DOUBLE PRECISION;
    """,
]

SCHEMA_VERSION: int = len(MIGRATIONS)
#: How a backend records the version it migrated to, in the migrating transaction (``meta`` is written
#: nowhere else; a backend's own placeholders are filled by its translation).
RECORD_VERSION = ("INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value")


def statements(migration: str, serial: str) -> list[str]:
    """Split one migration into statements, filling the dialect's serial key type."""
    sql = migration.replace("{serial}", serial)
    return [s.strip() for s in sql.split(";") if s.strip()]


def serial_tables(migrations: Sequence[str]) -> frozenset[str]:
    """Tables whose ``id`` column is the dialect's serial key, read from the migrations."""
    found = set()
    for migration in migrations:
        for statement in migration.split(";"):
            match = re.match(r"\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)", statement,
                             re.IGNORECASE | re.DOTALL)
            if match and re.search(r"(?:^|[(,])\s*id\s+\{serial\}", match.group(2), re.IGNORECASE):
                found.add(match.group(1).lower())
    return frozenset(found)


_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)


@lru_cache(maxsize=1024)
def inserts_into(sql: str) -> str | None:
    """The table an INSERT statement writes to (lower case), else None."""
    match = _INSERT.match(sql)
    return match.group(1).lower() if match else None

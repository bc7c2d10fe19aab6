"""Versioned schema: an ordered list of migrations, applied once each.

A store records the number of migrations it has seen in ``meta.schema_version``.
Opening applies the missing ones in one transaction; a store whose version is
higher than :data:`SCHEMA_VERSION` was written by a newer release and is refused
untouched. Append new migrations; never edit a released one.

The SQL is the portable subset SQLite and PostgreSQL share; the only dialect
token is ``{serial}`` for an auto-increment integer key.
"""

from __future__ import annotations

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
]

SCHEMA_VERSION: int = len(MIGRATIONS)


def statements(migration: str, serial: str) -> list[str]:
    """Split one migration into statements, filling the dialect's serial key type."""
    sql = migration.replace("{serial}", serial)
    return [s.strip() for s in sql.split(";") if s.strip()]

"""Tables of the orchestrator database, and the versioned schema steps that create them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, inspect, text

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("status", String(16), nullable=False, index=True),
    Column("mode", String(16), nullable=False),
    Column("created_at", Float, nullable=False, index=True),
    Column("heartbeat_at", Float, nullable=False),
    Column("record", Text, nullable=False),  # the research record, JSON
    Column("owner", String(64), nullable=True, index=True),  # the API key's name; NULL when the API is open
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", String(32), nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("run_id", "seq", name="uq_events_run_seq"),
    Index("ix_events_run_seq", "run_id", "seq"),
)

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))


def _create_runs_and_events(connection: Any) -> None:
    metadata.create_all(connection, tables=[runs, events])


def _add_run_owner(connection: Any) -> None:
    """Version 2: runs belong to the API key that created them. A database created at version 2 already has it."""
    if "owner" not in {column["name"] for column in inspect(connection).get_columns("runs")}:
        connection.execute(text("ALTER TABLE runs ADD COLUMN owner VARCHAR(64)"))
        connection.execute(text("CREATE INDEX ix_runs_owner ON runs (owner)"))


# Each step upgrades the schema by one version (on a synchronous connection); steps never change once released.
SCHEMA_STEPS: list[Callable[[Any], None]] = [_create_runs_and_events, _add_run_owner]
SCHEMA_VERSION = len(SCHEMA_STEPS)

"""Tables of the orchestrator database, and the versioned schema steps that create them."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

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

# Each step upgrades the schema by one version; steps never change once released.
SCHEMA_STEPS: list[list[Table]] = [[runs, events]]
SCHEMA_VERSION = len(SCHEMA_STEPS)

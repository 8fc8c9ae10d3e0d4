"""The event store (SQLite), alert snapshots with faces hidden, and retention."""

from maskwatch.events.export import events_csv
from maskwatch.events.snapshots import RetentionJob, SnapshotWriter, apply_retention
from maskwatch.events.store import REVIEWS, EventStore, iso, to_timestamp

__all__ = ["REVIEWS", "EventStore", "events_csv", "RetentionJob", "SnapshotWriter", "apply_retention", "iso", "to_timestamp"]

"""The event store (SQLite), alert snapshots with faces hidden, and retention."""

from maskwatch.events.compliance import compliance_table, days_back, midnight
from maskwatch.events.export import compliance_csv, events_csv
from maskwatch.events.snapshots import Retention, RetentionJob, SnapshotWriter, apply_retention
from maskwatch.events.store import REVIEW_STATES, REVIEWS, EventStore, iso, to_timestamp

__all__ = ["REVIEW_STATES", "REVIEWS", "EventStore", "Retention", "RetentionJob", "SnapshotWriter", "apply_retention",
           "compliance_csv", "compliance_table", "days_back", "events_csv", "iso", "midnight", "to_timestamp"]

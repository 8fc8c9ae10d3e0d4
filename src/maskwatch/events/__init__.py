"""The event store (SQLite), alert snapshots and clips with faces hidden, and retention."""

from maskwatch.core.labels import REVIEW_STATES, REVIEWS
from maskwatch.events.clips import Clip, ClipEncoder, ClipRecorder, ClipTiming, clip_name
from maskwatch.events.compliance import compliance_table, days_back, midnight, review_table
from maskwatch.events.export import compliance_csv, events_csv
from maskwatch.events.recording import ClipRecording
from maskwatch.events.snapshots import (
    Retention,
    RetentionJob,
    SnapshotWriter,
    apply_retention,
    enforce_quota,
    media_usage,
    resolve_in,
    write_atomic,
)
from maskwatch.events.store import EventStore
from maskwatch.events.times import iso, to_timestamp

__all__ = [
    "REVIEWS",
    "REVIEW_STATES",
    "Clip",
    "ClipEncoder",
    "ClipRecorder",
    "ClipRecording",
    "ClipTiming",
    "EventStore",
    "Retention",
    "RetentionJob",
    "SnapshotWriter",
    "apply_retention",
    "clip_name",
    "compliance_csv",
    "compliance_table",
    "days_back",
    "enforce_quota",
    "events_csv",
    "iso",
    "media_usage",
    "midnight",
    "resolve_in",
    "review_table",
    "to_timestamp",
    "write_atomic",
]

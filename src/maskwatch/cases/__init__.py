"""Hard cases from the cameras (issue 21): face crops kept when `collect:` is on, labelled on the Cases page or
with `maskwatch cases`, exported as class folders that `maskwatch data build` imports.

`store` keeps the crops and their metadata (SQLite) with retention and a size cap; `audit` logs who viewed,
labelled or exported them; `collector` holds the service's hooks; `export` writes the class folders.
"""

from maskwatch.cases.audit import AuditEntry, AuditLog
from maskwatch.cases.collector import CaseCollector, top_margin
from maskwatch.cases.crops import face_crop
from maskwatch.cases.store import CASE_LABELS, REASONS, Case, CaseStore

__all__ = [
    "CASE_LABELS",
    "REASONS",
    "AuditEntry",
    "AuditLog",
    "Case",
    "CaseCollector",
    "CaseStore",
    "face_crop",
    "top_margin",
]

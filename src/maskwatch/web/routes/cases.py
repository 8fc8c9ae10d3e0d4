"""Hard cases (collect:): face crops for labelling. Only the admin token sees, labels or lists them (the viewer
token gets 403); each list, view and label is written to the cases' audit log. /api/cases/status is open to both
roles: it says whether faces are being kept, and holds none."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse

from maskwatch.cases import CaseStore
from maskwatch.web.defs.cases import Case, CaseCounts, CaseId, CaseQuery, CollectStatus, LabelBody
from maskwatch.web.defs.common import Role, Tag
from maskwatch.web.deps import READ, WRITE, ServiceDep, current_role, errors, require_admin
from maskwatch.web.routes.system import STATIC

ADMIN_ONLY = "face crops are for the admin token only"
JPEG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}
}


def require_case_admin(role: Annotated[Role, Depends(current_role)]) -> Role:
    if role != "admin":
        raise HTTPException(403, ADMIN_ONLY)
    return role


def case_store(service: ServiceDep) -> CaseStore:
    collector = getattr(service, "case_collector", None)
    if collector is None:
        raise HTTPException(404, "no cases: collection (collect.enabled) is off and none were kept")
    return collector.store


StoreDep = Annotated[CaseStore, Depends(case_store)]
AdminDep = Annotated[Role, Depends(require_case_admin)]

status_router = APIRouter(tags=[Tag.cases], dependencies=[Depends(current_role)], responses=READ)
# every route here takes the admin: the reads through require_case_admin, the label (a change) through
# require_admin, as every route that changes something does
router = APIRouter(tags=[Tag.cases], dependencies=[Depends(current_role)], responses={**READ, **errors(403, 404)})


@status_router.get("/api/cases/status")
def status(service: ServiceDep) -> CollectStatus:
    """Whether the service keeps face crops now, and how many it holds (no crops, no ids: any role)."""
    collect, collector = service.config.collect, getattr(service, "case_collector", None)
    return CollectStatus(
        enabled=collect.enabled and collector is not None and collector.enabled,
        reasons=list(collect.reasons),
        retention_days=collect.retention_days,
        max_mb=collect.max_mb,
        total=collector.store.counts()["total"] if collector is not None else 0,
        kept_since_start=collector.kept if collector is not None else 0,
    )


@router.get("/api/cases")
def cases(role: AdminDep, store: StoreDep, query: Annotated[CaseQuery, Query()]) -> list[Case]:
    """Cases, newest first (or oldest first), filtered by reason and label."""
    found = store.query(**query.model_dump())
    filters = ", ".join(f"{k}={v}" for k, v in query.model_dump(exclude_defaults=True).items()) or "all"
    store.audit.write(role, "list", f"{len(found)} cases ({filters})")
    return [Case(**c.to_json()) for c in found]


@router.get("/api/cases/counts", dependencies=[Depends(require_case_admin)])
def counts(store: StoreDep) -> CaseCounts:
    """Cases per reason and per label."""
    return CaseCounts(**store.counts())


@router.get("/api/cases/{case_id}/crop.jpg", response_class=FileResponse, responses=JPEG)
def crop(case_id: CaseId, role: AdminDep, store: StoreDep) -> FileResponse:
    """The face crop (JPEG, at most collect.crop_max_side pixels); each fetch is written to the audit log."""
    found = store.get(case_id)
    path = store.crop_path(found) if found else None
    if path is None:
        raise HTTPException(404, f"no case {case_id}")
    store.audit.write(role, "view", f"case {case_id}")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.put("/api/cases/{case_id}/label", dependencies=[Depends(require_admin)], responses=WRITE)
def label(case_id: CaseId, body: LabelBody, store: StoreDep, role: Annotated[Role, Depends(current_role)]) -> Case:
    """What the crop shows: mask, no_mask, incorrect or not_a_face; null takes the label back (undo)."""
    before = store.get(case_id)
    found = store.set_label(case_id, body.label)
    if before is None or found is None:
        raise HTTPException(404, f"no case {case_id}")
    if body.label is None:
        store.audit.write(role, "unlabel", f"case {case_id} (was {before.label})")
    else:
        store.audit.write(role, "label", f"case {case_id} -> {body.label} (was {before.label})")
    return Case(**found.to_json())


pages = APIRouter(include_in_schema=False)


@pages.get("/cases")
def cases_page() -> FileResponse:
    return FileResponse(STATIC / "cases.html", headers={"Cache-Control": "no-store"})

"""Compliance figures: people seen per label, camera and zone, by hour, day or over the whole span; and what people
said of the alerts per camera and zone (the false-alarm rate)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from maskwatch.events import compliance_csv
from maskwatch.web.defs.common import Tag
from maskwatch.web.defs.queries import ComplianceQuery, ReviewQuery
from maskwatch.web.defs.responses import ComplianceRow, ReviewRow
from maskwatch.web.deps import READ, ServiceDep, WebService, current_role
from maskwatch.web.routes.events import CSV, csv_download

router = APIRouter(tags=[Tag.compliance], dependencies=[Depends(current_role)], responses=READ)


def rows(service: WebService, query: ComplianceQuery) -> list[dict]:
    days = query.days if query.days or query.since else 7
    return service.compliance(since=query.since, until=query.until, camera=query.camera, bucket=query.bucket, days=days)


@router.get("/api/compliance")
def compliance(service: ServiceDep, query: Annotated[ComplianceQuery, Query()]) -> list[ComplianceRow]:
    """People seen (each tracked face counted once, under the worst label it held for rules.min_seconds), per
    camera and zone, by hour, by day or over the whole span; masked_share is mask / people. Without since or
    days: the last 7 days."""
    return [ComplianceRow(**r) for r in rows(service, query)]


@router.get("/api/compliance.csv", response_class=Response, responses=CSV)
def compliance_export(service: ServiceDep, query: Annotated[ComplianceQuery, Query()]) -> Response:
    """The same figures as a CSV file, for reports in a spreadsheet."""
    return csv_download(compliance_csv(rows(service, query)), "maskwatch-compliance.csv")


@router.get("/api/reviews")
def reviews(service: ServiceDep, query: Annotated[ReviewQuery, Query()]) -> list[ReviewRow]:
    """Alerts per camera and zone with what people said of them (confirmed, false alarm, not yet) and the
    false-alarm rate among those reviewed; the last 7 days unless days says otherwise."""
    return [ReviewRow(**r) for r in service.reviews(query.days)]

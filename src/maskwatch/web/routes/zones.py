"""A camera's zones: read them, or replace them (applied at once and saved into the config file)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from starlette.concurrency import run_in_threadpool

from maskwatch.config import ZoneConfig
from maskwatch.web.defs.bodies import ZonesBody
from maskwatch.web.defs.common import Tag
from maskwatch.web.defs.responses import CameraZones
from maskwatch.web.deps import READ, WRITE, CameraDep, ServiceDep, current_role, errors, require_admin

router = APIRouter(tags=[Tag.zones], dependencies=[Depends(current_role)], responses={**READ, **errors(404)})


@router.get("/api/cameras/{name}/zones")
def get_zones(cam: CameraDep) -> list[ZoneConfig]:
    """The camera's zones: polygons in relative coordinates (0..1 of the frame), in the order they are matched."""
    return cam.zones


@router.put("/api/cameras/{name}/zones", dependencies=[Depends(require_admin)], responses=WRITE)
async def put_zones(cam: CameraDep, service: ServiceDep, body: ZonesBody) -> CameraZones:
    """Replace the camera's zones; applied at once and saved to the config file. Up to 50 zones of up to 64
    corners, 512 kB in all."""
    try:
        await run_in_threadpool(service.set_zones, cam.name, [z.model_dump(mode="json") for z in body.zones])
    except ValueError as err:
        raise HTTPException(422, str(err)) from None
    return CameraZones(camera=cam.name, zones=cam.zones)

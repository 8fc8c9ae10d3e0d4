"""Beyond one machine: the cameras shared out over a Ray cluster, each shard decoding and analysing its cameras
where Ray places it; alerts, status and live pictures come back to the service that holds the UI, store and sinks."""

from maskwatch.scale.ray_cameras import RayCameras
from maskwatch.scale.shard import CameraShard

__all__ = ["CameraShard", "RayCameras"]

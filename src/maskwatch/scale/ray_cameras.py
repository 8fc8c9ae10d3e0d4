"""The head's side of Ray mode: starts the camera shards as Ray actors and asks them for alerts, status and pictures.

Each shard reads its cameras itself, so video never crosses the network: camera URLs (and files) must be reachable
from every Ray node, and maskwatch must be installed on each. Ray restarts a shard that dies, on another node if
its node is gone; until it answers again its cameras show as offline, and once it does it is sent the zones as
they are now (it restarts with those of the start) and hands over the alerts the head had not stored yet.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any

from maskwatch.config import AppConfig, ZoneConfig
from maskwatch.core.errors import UserError
from maskwatch.core.records import CameraStatus
from maskwatch.rules import Alert
from maskwatch.scale.shard import CameraShard

log = logging.getLogger(__name__)

START_TIMEOUT = 180.0  # seconds for every shard to load its models and open its cameras
CALL_TIMEOUT = 5.0
REACH_TIMEOUT = 3.0


def _check_reachable(address: str | None) -> None:
    """A host:port (or ray://host:port) that does not answer fails at once; Ray itself retries for minutes."""
    if not address or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"scale.ray.address must be 'auto', HOST:PORT or ray://HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT).close()
    except OSError as err:
        raise UserError(f"cannot reach the Ray cluster at {address}: {err}") from None


@dataclass
class ShardAlert:
    """An alert a shard raised, with its snapshot JPEG (faces hidden); acknowledge() it once stored."""

    alert: Alert
    jpeg: bytes | None
    shard: object  # the actor that holds it until acknowledged
    seq: int


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


class RayCameras:
    def __init__(self, config: AppConfig):
        try:
            import ray
        except ImportError:
            raise UserError("scale.ray needs Ray on this machine: pip install 'maskwatch[scale]'") from None
        self._ray = ray
        rc = config.scale.ray
        assert rc is not None  # made only for a config with scale.ray
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            _check_reachable(rc.address)
            try:
                ray.init(address=rc.address, include_dashboard=False, logging_level=logging.WARNING)
            except Exception as err:  # noqa: BLE001 (Ray raises many types here; each becomes one line)
                raise UserError(
                    f"cannot {'reach the Ray cluster at ' + rc.address if rc.address else 'start Ray'}: "
                    f"{_first_line(err)}"
                ) from None
        names = [c.name for c in config.cameras if c.enabled]
        k = min(rc.shards, len(names))
        groups = [names[i::k] for i in range(k)]
        actor = ray.remote(CameraShard).options(num_cpus=rc.cpus_per_shard, max_restarts=-1, max_task_retries=0)
        payload = config.model_dump(mode="json")
        # Ray actor handles: Any, as Ray's types do not give the actor's methods their .remote()
        self.shards: list[Any] = [actor.remote(payload, group) for group in groups]
        self._groups = dict(zip(self.shards, groups, strict=True))
        self._shard_of = {name: shard for group, shard in zip(groups, self.shards, strict=True) for name in group}
        self._config = config  # the head's: zones edited since start are re-sent to a restarted shard
        self._incarnation: dict = {}
        self._down: set = set()  # shards whose last call failed
        self._acknowledged: dict = {shard: [] for shard in self.shards}  # seqs stored, to tell at the next drain
        try:
            ray.get([s.providers.remote() for s in self.shards], timeout=START_TIMEOUT)
        except Exception as err:  # noqa: BLE001 (any failure to start is reported in one line)
            self.stop()
            raise UserError(f"the Ray camera shards did not start: {_first_line(err)}") from None
        log.info("Ray: %d camera(s) on %d shard(s)", len(names), len(self.shards))

    def _call(self, shard: Any, method: str, *args: object, default: object = None) -> Any:
        """One call to one shard; a shard that is down or restarting gives `default` (logged once per outage)."""
        try:
            result = self._ray.get(getattr(shard, method).remote(*args), timeout=CALL_TIMEOUT)
        except Exception as err:  # noqa: BLE001 (any failure means the shard is down)
            if shard not in self._down:
                self._down.add(shard)
                log.warning(
                    "Ray shard of %s does not answer (%s): %s",
                    ", ".join(self._groups.get(shard, [])),
                    method,
                    _first_line(err),
                )
            return default
        if shard in self._down:
            self._down.discard(shard)
            log.info("Ray shard of %s answers again", ", ".join(self._groups.get(shard, [])))
        return result

    def drain(self) -> tuple[list[ShardAlert], list, list]:
        """The shards' alerts not acknowledged yet (with their snapshot JPEGs), and their sightings and clips since
        the last call. The alerts acknowledged since the last call are forgotten by their shards now."""
        alerts, sightings, clips = [], [], []
        for shard in self.shards:
            told = list(self._acknowledged[shard])
            answer = self._call(shard, "drain", told, default=None)
            if answer is None:  # down: told again next time
                continue
            del self._acknowledged[shard][: len(told)]
            incarnation, pending, seen, recorded = answer
            if self._incarnation.setdefault(shard, incarnation) != incarnation:
                log.warning(
                    "Ray shard of %s was restarted: sending it the current zones", ", ".join(self._groups[shard])
                )
                self._incarnation[shard] = incarnation
                for name in self._groups[shard]:
                    self.set_zones(name, self._config.camera(name).zones)
            alerts += [ShardAlert(alert, jpeg, shard, seq) for seq, alert, jpeg in pending]
            sightings += seen
            clips += recorded
        return alerts, sightings, clips

    def acknowledge(self, stored: list[ShardAlert]) -> None:
        """These alerts are stored: their shards may forget them (told with the next drain)."""
        for a in stored:
            if a.shard in self._acknowledged:
                self._acknowledged[a.shard].append(a.seq)

    def status(self) -> list[CameraStatus]:
        return [c for s in self.shards for c in self._call(s, "camera_status", default=[])]

    def latest_jpeg(self, camera: str, annotated: bool) -> bytes | None:
        shard = self._shard_of.get(camera)
        return self._call(shard, "latest_jpeg", camera, annotated) if shard else None

    def result_delays(self, camera: str, since: float) -> list[float]:
        shard = self._shard_of.get(camera)
        return self._call(shard, "result_delays", camera, since, default=[]) if shard else []

    def set_zones(self, camera: str, zones: list[ZoneConfig]) -> None:
        if camera in self._shard_of:
            self._call(self._shard_of[camera], "set_zones", camera, [z.model_dump(mode="json") for z in zones])

    def providers(self) -> list[str]:
        names: list[str] = []
        for s in self.shards:
            names += [p for p in self._call(s, "providers", default=[]) if p not in names]
        return names

    def stop(self) -> None:
        for s in self.shards:
            self._call(s, "stop")
            self._ray.kill(s, no_restart=True)
        self.shards = []
        if self._owns_ray:
            self._ray.shutdown()

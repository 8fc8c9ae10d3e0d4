"""`scale:` analysing the cameras on more machines than this one."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from maskwatch.config.base import Strict


class RayConfig(Strict):
    """A Ray cluster whose actors decode and analyse the cameras (maskwatch[scale])."""

    address: str | None = Field(
        None, description="Ray cluster to join ('auto', 'ray://head:10001'); unset: start Ray on this machine"
    )
    shards: int = Field(
        2,
        ge=1,
        description="camera shards: actors that each decode and analyse a share of the cameras, wherever Ray "
        "places them",
    )
    cpus_per_shard: float = Field(1.0, gt=0, description="CPUs Ray reserves for each shard")
    outbox: Path | None = Field(
        None,
        description="folder, on each node, where a shard keeps the alerts the head has not stored yet, so that a "
        "shard restarted after a crash hands them over; unset: maskwatch-shards in the node's temporary folder",
    )


class ScaleConfig(Strict):
    """Where the cameras are analysed; unset sections: on this machine, in this process."""

    ray: RayConfig | None = Field(
        None,
        description="analyse the cameras on a Ray cluster; the UI, API, event store and sinks stay on this machine",
    )
    analysis_threads: int = Field(
        1,
        ge=1,
        le=16,
        description="analysis threads, each for its share of the cameras (their frames detected as one batch): on a "
        "machine with more cores than the models use, one can track and judge while another runs the models; on 2 "
        "cores one thread serves 8 wide cameras better than two (4.8 against 3.6 analyses a second each)",
    )

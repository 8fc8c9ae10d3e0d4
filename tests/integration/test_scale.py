"""Ray mode: camera shards analyse the cameras and the head stores their alerts. First a shard on its own (no
Ray), then the whole service on a real local Ray cluster."""

from __future__ import annotations

import json

import paho.mqtt.client as mqtt
import pytest

from helpers_service.requires import require
from helpers_service.servers import Mosquitto, WebhookReceiver, wait_for
from maskwatch.config import AppConfig
from maskwatch.scale import CameraShard
from maskwatch.service import Service

DOOR = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]


def config(clip, tmp_path, **extra) -> AppConfig:
    cameras = [
        {
            "name": name,
            "source": str(clip),
            "fps": 5,
            "loop": True,
            "zones": [{"name": "door", "polygon": DOOR, "restricted": True}],
        }
        for name in ("cam-a", "cam-b")
    ]
    return AppConfig.model_validate(
        {
            "cameras": cameras,
            "detector": {"input_size": 640, "threads": 1},
            "rules": {"min_seconds": 0.5, "cooldown_seconds": 1.0},
            "ui": {"enabled": False},
            "storage": {
                "database": str(tmp_path / "data" / "events.db"),
                "snapshots": str(tmp_path / "data" / "snapshots"),
                "clips": str(tmp_path / "data" / "clips"),
            },
            "clips": {"enabled": True, "before_seconds": 1.0, "after_seconds": 1.0},
            **extra,
        }
    )


def test_a_shard_analyses_its_cameras_and_keeps_alerts_for_the_head(test_clip, tmp_path):
    cfg = config(test_clip, tmp_path, scale={"ray": {"outbox": str(tmp_path / "node")}})
    shard = CameraShard(cfg.model_dump(mode="json"), ["cam-a"])
    try:
        seen, clips = [], []

        def alerts_now():
            _, alerts, sightings, recorded = shard.drain()
            seen.extend(sightings)
            clips.extend(recorded)
            return alerts

        alerts = wait_for(alerts_now, 30)
        assert alerts, "no alert within 30 s"
        assert ("cam-a", "door", "no_mask") in {(s.camera, s.zone, s.label) for s in seen}  # counted for the head too
        _, alert, jpeg = alerts[0]
        assert alert.camera == "cam-a" and alert.zone == "door" and alert.label == "no_mask"
        assert jpeg[:2] == b"\xff\xd8"  # the snapshot, faces hidden, travels as JPEG

        def clips_now():
            alerts_now()
            return clips

        assert wait_for(clips_now, 10), "no clip within 10 s"
        clip, webm = clips[0]  # encoded on the shard; the head finds its events by track and time
        assert (alert.track_id, alert.time) in clip.keys and clip.frames == [] and webm[:4] == b"\x1a\x45\xdf\xa3"
        assert [c.name for c in shard.camera_status()] == ["cam-a"] and shard.camera_status()[0].online
        assert shard.latest_jpeg("cam-a", True)[:2] == b"\xff\xd8"
        shard.set_zones("cam-a", [])
        assert shard.zones("cam-a") == []
    finally:
        shard.stop()
    assert not (tmp_path / "data").exists(), "a shard stores nothing: the head does"


def status_listener(port: int, statuses: dict[str, dict]) -> mqtt.Client:
    """An MQTT client that keeps the last camera status message per topic in `statuses`."""
    subscriber = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    subscriber.on_message = lambda c, u, m: statuses.__setitem__(
        m.topic, json.loads(m.payload) if m.payload[:1] == b"{" else {}
    )
    subscriber.connect("127.0.0.1", port)
    subscriber.subscribe("maskwatch/+/status")
    subscriber.loop_start()
    return subscriber


def test_service_on_a_ray_cluster_stores_the_shards_alerts(test_clip, tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # a throwaway local cluster: no token to write under $HOME
    require(Mosquitto.available(), "the mosquitto broker", "Debian package 'mosquitto'")
    broker, webhook = Mosquitto(tmp_path / "broker"), WebhookReceiver()
    broker.start()
    statuses: dict[str, dict] = {}
    subscriber = status_listener(broker.port, statuses)
    sinks = {"mqtt": {"host": "127.0.0.1", "port": broker.port}, "webhooks": [{"url": webhook.url}], "retry_seconds": 1}
    ray_config = {"shards": 2, "cpus_per_shard": 0.5, "outbox": str(tmp_path / "node")}  # not the node's /tmp
    service = Service(config(test_clip, tmp_path, sinks=sinks, scale={"ray": ray_config}))
    service.start()
    try:
        assert len(service.remote.shards) == 2
        events = wait_for(
            lambda: (
                {e["camera"] for e in service.events(limit=1000)} == {"cam-a", "cam-b"} and service.events(limit=1000)
            ),
            60,
        )
        assert events, f"not every camera's alerts reached the store within 60 s: {service.events(limit=1000)}"
        assert {e["label"] for e in events} == {"no_mask"} and {e["zone"] for e in events} == {"door"}
        assert all(service.snapshot_path(e["id"]).is_file() for e in events)  # written on the head
        clipped = wait_for(lambda: [e for e in service.events(limit=1000) if e["clip"]], 20)
        assert clipped and all(service.clip_path(e["id"]).is_file() for e in clipped), (
            "the shards' clips are not stored"
        )
        status = {c["name"]: c for c in service.camera_status()}
        assert status["cam-a"]["online"] and status["cam-b"]["online"] and status["cam-b"]["frames_analysed"] > 0
        assert service.latest_jpeg("cam-b")[:2] == b"\xff\xd8"
        assert service.stats()["events_total"] >= 2 and service.providers() == ["CPUExecutionProvider"]
        assert wait_for(lambda: {r["camera"] for r in service.compliance()} == {"cam-a", "cam-b"}, 10)  # head's store
        # The head's sinks send the shards' alerts, and publish each camera's status
        ids = {e["id"] for e in events}
        assert wait_for(lambda: ids <= {m["id"] for m in webhook.received}, 20), "alerts did not reach the webhook"
        assert wait_for(lambda: statuses.get("maskwatch/cam-b/status", {}).get("online"), 10), statuses
        service.set_zones("cam-b", [])
        shard_b = service.remote._shard_of["cam-b"]
        assert service.remote._call(shard_b, "zones", "cam-b") == []

        # A shard that dies is restarted by Ray with the zones of the start; the head sends it the current ones.
        import ray

        first = service.remote._incarnation[shard_b]
        ray.kill(shard_b, no_restart=False)
        assert wait_for(lambda: service.remote._incarnation[shard_b] != first, 60), "the shard did not come back"
        assert service.remote._call(shard_b, "zones", "cam-b") == [], "the current zones were not re-sent"
        assert wait_for(lambda: {c["name"]: c for c in service.camera_status()}["cam-b"]["online"], 30)
        events = service.events(limit=1000)  # what the restarted shard handed over again is stored once
        assert len({(e["camera"], e["track_id"], e["timestamp"]) for e in events}) == len(events)
    finally:
        service.stop()
        subscriber.loop_stop()
        webhook.close()
        broker.stop()
    import ray

    assert not ray.is_initialized(), "the Ray instance the service started is shut down with it"


def test_a_restarted_shard_hands_over_the_alerts_the_head_did_not_acknowledge(test_clip, tmp_path):
    """Without Ray: a shard that stops before the head acknowledged its alerts, and one started again for the same
    cameras, which finds them in its outbox on the node."""
    payload = config(test_clip, tmp_path, scale={"ray": {"outbox": str(tmp_path / "node")}}).model_dump(mode="json")
    shard = CameraShard(payload, ["cam-a"])
    try:
        pending = wait_for(lambda: shard.drain()[1], 30)
        assert pending, "no alert within 30 s"
    finally:
        shard.stop()
    assert [p.suffix for p in (tmp_path / "node").iterdir()] == [".db"]  # kept on the node: not acknowledged
    again = CameraShard(payload, ["cam-a"])
    try:
        _, handed, _, _ = again.drain()
        assert [(seq, a, jpeg) for seq, a, jpeg in handed[: len(pending)]] == pending
        again.drain([seq for seq, _, _ in pending])  # the head stored them
        assert {seq for seq, _, _ in again.drain()[1]}.isdisjoint(seq for seq, _, _ in pending)
    finally:
        again.stop()


def test_alerts_survive_a_shard_actor_killed_mid_run(test_clip, tmp_path, monkeypatch):
    """A real local Ray: the shard actor is killed while the head holds alerts it has not acknowledged; Ray restarts
    it, and it hands them over."""
    import ray

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    payload = config(test_clip, tmp_path, scale={"ray": {"outbox": str(tmp_path / "node")}}).model_dump(mode="json")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    try:
        actor = ray.remote(CameraShard).options(num_cpus=1, max_restarts=-1, max_task_retries=0)
        shard = actor.remote(payload, ["cam-a"])
        drain = lambda *acks: ray.get(shard.drain.remote(list(acks)), timeout=30)  # noqa: E731
        first, pending, _, _ = wait_for(lambda: (answer := drain()) and answer[1] and answer, 60)
        assert pending, "no alert within 60 s"
        ray.kill(shard, no_restart=False)  # mid-run: readers, analysis and the outbox are cut off at once

        def restarted():
            try:
                return drain() if drain()[0] != first else None
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
                return None  # down or restarting

        incarnation, handed, _, _ = wait_for(restarted, 60, interval=0.5)
        assert incarnation != first
        assert [(seq, a.time, a.track_id) for seq, a, _ in handed[: len(pending)]] == [
            (seq, a.time, a.track_id) for seq, a, _ in pending
        ], "the alerts the head had not acknowledged were lost with the shard"
        assert all(jpeg[:2] == b"\xff\xd8" for _, _, jpeg in handed[: len(pending)])  # with their snapshots
        drain(*[seq for seq, _, _ in handed])
        assert {seq for seq, _, _ in drain()[1]}.isdisjoint(seq for seq, _, _ in handed)  # acknowledged: forgotten
        ray.get(shard.stop.remote(), timeout=30)
    finally:
        ray.shutdown()


def test_ray_mode_without_ray_is_a_one_line_error(test_clip, tmp_path, monkeypatch):
    import sys

    from maskwatch.core.errors import UserError

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    service = Service(config(test_clip, tmp_path, scale={"ray": {}}))
    with pytest.raises(UserError, match=r"pip install 'maskwatch\[scale\]'"):
        service.start()
    assert not service.running and service.store is None  # what start opened is closed again


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("127.0.0.1:1", "cannot reach the Ray cluster at 127.0.0.1:1"),
        ("nowhere", "must be 'auto', HOST:PORT or ray://HOST:PORT"),
    ],
)
def test_a_ray_cluster_that_cannot_be_reached_is_a_one_line_error_at_once(test_clip, tmp_path, address, message):
    from maskwatch.core.errors import UserError

    service = Service(config(test_clip, tmp_path, scale={"ray": {"address": address}}))
    with pytest.raises(UserError, match=message):
        service.start()
    assert not service.running

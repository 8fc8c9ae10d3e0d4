"""A shard's outbox: alerts kept in SQLite on the node until the head acknowledges them."""

from maskwatch.rules import Alert
from maskwatch.scale.outbox import ShardOutbox, outbox_path


def alert(track: int, at: float) -> Alert:
    return Alert("cam-a", "door", track, "no_mask", 0.93, (1.0, 2.0, 30.5, 40.0), 0, at)


def test_alerts_stay_until_acknowledged_and_survive_a_reopen(tmp_path):
    path = outbox_path(tmp_path, tmp_path / "events.db", ["cam-a"])
    assert path == outbox_path(tmp_path, tmp_path / "events.db", ["cam-a"])  # the same file for the same shard
    assert path != outbox_path(tmp_path, tmp_path / "events.db", ["cam-b"])
    outbox = ShardOutbox(path)
    seqs = [outbox.put(alert(t, 100.0 + t), b"\xff\xd8jpeg" if t else None) for t in range(3)]
    taken = outbox.take()
    assert [s for s, _, _ in taken] == seqs and taken[1][1] == alert(1, 101.0) and taken[0][2] is None
    assert [s for s, _, _ in outbox.take()] == seqs  # not acknowledged: handed over again
    outbox.take([seqs[0]])
    del outbox  # as if the process died: nothing closed
    reopened = ShardOutbox(path)
    assert [(s, a.track_id, jpeg) for s, a, jpeg in reopened.take()] == [
        (seqs[1], 1, b"\xff\xd8jpeg"),
        (seqs[2], 2, b"\xff\xd8jpeg"),
    ]
    assert reopened.put(alert(9, 109.0), None) > seqs[-1]  # numbers go on: an old acknowledgement never hits a new one
    reopened.close()
    assert path.is_file()  # alerts left: kept for the next start
    emptied = ShardOutbox(path)
    emptied.take([s for s, _, _ in emptied.take()])
    emptied.close()
    assert not path.exists()


def test_the_oldest_go_first_past_the_cap(tmp_path):
    outbox = ShardOutbox(tmp_path / "o.db", max_pending=3)
    for t in range(5):
        outbox.put(alert(t, float(t)), None)
    assert [a.track_id for _, a, _ in outbox.take()] == [2, 3, 4] and outbox.pending() == 3


def test_an_alert_written_before_held_seconds_reads_back():
    """An outbox left by an older shard (alerts without held_seconds) is handed over after an upgrade."""
    from maskwatch.scale.outbox import _decode, _encode

    old = '["door", "z", 3, "no_mask", 0.9, [1, 2, 3, 4], 0, 12.5]'
    assert _decode(old).held_seconds == 0.0 and _decode(old).box == (1, 2, 3, 4)
    alert = _decode(old)
    alert.held_seconds = 1.5
    assert _decode(_encode(alert)) == alert

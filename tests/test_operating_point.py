"""The operating point: the shift toward the unmasked labels, chosen for a target recall."""

from maskwatch.train.operating_point import choose_bias


def test_operating_point_is_the_smallest_shift_meeting_the_recall_target_within_the_false_alarm_limit():
    def row(recall, false_alarm):
        return {"unmasked_recall": recall, "masked_false_alarm": false_alarm}

    table = {"street": {0.0: row(0.80, 0.01), 0.5: row(0.86, 0.02), 1.0: row(0.90, 0.04)},
             "web": {0.0: row(0.84, 0.03), 0.5: row(0.84, 0.05), 1.0: row(0.88, 0.07)}}
    assert choose_bias(table) == 1.0  # 0.5 meets the target on street only
    table["web"][1.0] = row(0.88, 0.12)  # over the false-alarm limit: best worst-set recall within it
    assert choose_bias(table) == 0.5

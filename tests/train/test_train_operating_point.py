"""The operating point: the shift toward the unmasked labels that clears both compliance bars by the most."""

import pytest

from maskwatch.train.operating_point import bar_margin, choose_bias

ISSUE_2_BARS = {"target": 0.85, "max_false_alarm": 0.10}  # the hand-worked figures below are against these


def row(recall, false_alarm, n_unmasked=100, n_masked=200):
    return {
        "unmasked_recall": recall,
        "masked_false_alarm": false_alarm,
        "n_unmasked": n_unmasked,
        "n_masked": n_masked,
    }


def test_margin_is_the_nearer_bar_in_standard_errors_by_hand():
    # recall 0.90 of 100: p = 91/102, se = sqrt(p(1-p)/100) = 0.03101, (0.90 - 0.85) / se = 1.612
    # false alarms 0.02 of 200: p = 5/202, se = 0.010986, (0.10 - 0.02) / se = 7.28
    assert bar_margin(row(0.90, 0.02), **ISSUE_2_BARS) == pytest.approx(1.612, abs=1e-3)
    assert bar_margin(row(0.90, 0.09), **ISSUE_2_BARS) < 1.0  # now the false-alarm bar is the nearer one
    assert (
        bar_margin(row(0.84, 0.02), **ISSUE_2_BARS) < 0 and bar_margin(row(0.95, 0.11), **ISSUE_2_BARS) < 0
    )  # a missed bar is negative
    # the same rates on fewer faces are less certain, so they clear the bar by fewer standard errors
    assert bar_margin(row(0.90, 0.02, n_unmasked=30), **ISSUE_2_BARS) < bar_margin(row(0.90, 0.02), **ISSUE_2_BARS)
    # a set with no unmasked faces (its recall undefined) is bounded by its false alarms only
    assert bar_margin(row(float("nan"), 0.02, n_unmasked=0), **ISSUE_2_BARS) == pytest.approx(7.28, abs=0.01)


def test_shift_with_the_widest_worst_set_margin_is_chosen():
    table = {
        "street": {0.0: row(0.80, 0.01), 0.5: row(0.86, 0.02), 1.0: row(0.92, 0.04)},
        "web": {0.0: row(0.87, 0.03), 0.5: row(0.88, 0.05), 1.0: row(0.91, 0.06)},
    }
    assert (
        choose_bias(table, **ISSUE_2_BARS) == 1.0
    )  # 0.5 just meets the recall bar on street; 1.0 clears both bars by more
    table["web"][1.0] = row(0.93, 0.11)  # over the false-alarm limit
    assert choose_bias(table, **ISSUE_2_BARS) == 0.5
    table = {"one": {0.0: row(0.90, 0.02), 0.5: row(0.90, 0.02)}}
    assert choose_bias(table, **ISSUE_2_BARS) == 0.0  # a tie goes to the smaller shift


def test_the_default_bars_are_the_raised_photo_bars():
    assert bar_margin(row(0.88, 0.02)) < 0 < bar_margin(row(0.88, 0.02), **ISSUE_2_BARS)  # under 90 % flagged
    assert bar_margin(row(0.95, 0.06)) < 0 < bar_margin(row(0.95, 0.06), **ISSUE_2_BARS)  # 5 % or more flagged

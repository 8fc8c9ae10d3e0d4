"""McNemar's exact test, the cluster bootstrap, the verdict rule and the subgroup deltas, on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest

from maskwatch.modelops.stats import Interval, PairedTest, bootstrap_difference, mcnemar_exact, paired_test, verdict
from maskwatch.modelops.subgroups import subgroup_deltas, subgroup_warnings


def test_mcnemar_exact_matches_the_binomial_by_hand_and_scipy():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    # 0 against 6: both tails of Binomial(6, 1/2) at the extremes: 2 / 64
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    assert mcnemar_exact(1, 9) == pytest.approx(2 * (1 + 10) / 1024)
    assert mcnemar_exact(3, 12) == mcnemar_exact(12, 3)
    assert 0 < mcnemar_exact(1400, 1600) < 0.001  # large counts: no float overflow
    assert mcnemar_exact(1535, 23) == 0.0  # below the smallest float: said so, not printed as 0
    assert (
        "McNemar p < 1e-300" in verdict(PairedTest(1600, 0, 1535, 23, 0, 0.0, *[Interval(-0.4, -0.5, -0.3)] * 2))[1][0]
    )
    binomtest = pytest.importorskip("scipy.stats").binomtest
    for a_only, b_only in ((2, 9), (7, 20), (30, 41), (0, 1)):
        assert mcnemar_exact(a_only, b_only) == pytest.approx(binomtest(a_only, a_only + b_only, 0.5).pvalue)


def test_bootstrap_is_seeded_and_covers_the_difference():
    rng = np.random.default_rng(3)
    a = rng.random(2000) < 0.90
    b = a | (rng.random(2000) < 0.05)  # B right wherever A is, and on some more
    first = bootstrap_difference(a, b, seed=1)
    assert first == bootstrap_difference(a, b, seed=1) and first != bootstrap_difference(a, b, seed=2)
    assert first.low > 0 and first.low <= first.estimate <= first.high
    same = bootstrap_difference(a, a)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    # groups resampled whole: where B's gain sits in one photo's 100 crops, they move together and the interval
    # is wider than if each crop were independent
    clustered = a.copy()
    clustered[:100] = True
    groups = np.arange(2000) // 100
    alone, together = bootstrap_difference(a, clustered), bootstrap_difference(a, clustered, groups)
    assert together.estimate == alone.estimate and together.high - together.low > 1.5 * (alone.high - alone.low)


def _test(p: float, acc: tuple[float, float, float], unm: tuple[float, float, float]) -> PairedTest:
    return PairedTest(100, 80, 5, 15, 0, p, Interval(*acc), Interval(*unm))


def test_verdict_rule():
    assert verdict(_test(0.01, (0.05, 0.01, 0.09), (0.0, -0.01, 0.02)))[0] == "better"
    assert verdict(_test(0.20, (0.05, -0.01, 0.09), (0.0, -0.01, 0.02)))[0] == "no detectable difference"
    assert verdict(_test(0.01, (-0.05, -0.09, -0.01), (0.0, -0.01, 0.02)))[0] == "worse"
    # unmasked recall down beyond the noise is worse, whatever the accuracy says
    said, reasons = verdict(_test(0.01, (0.05, 0.01, 0.09), (-0.04, -0.07, -0.01)))
    assert said == "worse" and "misses unmasked" in reasons[-1]
    # a significant gain smaller than what retraining alone moves the accuracy is no difference
    spread = {"accuracy": {"min": 0.90, "max": 0.97}}
    said, reasons = verdict(_test(0.01, (0.05, 0.01, 0.09), (0.0, -0.01, 0.02)), spread)
    assert said == "no detectable difference" and "retraining noise" in reasons[-1]
    assert (
        verdict(_test(0.01, (0.05, 0.01, 0.09), (0.0, -0.01, 0.02)), {"accuracy": {"min": 0.9, "max": 0.92}})[0]
        == "better"
    )


def test_a_loss_within_the_retraining_noise_is_no_difference():
    """Two seeds of the same settings: unmasked recall 0.9815 and 0.9726 on 1 569 unmasked val crops, a drop whose
    crop-level interval lay below 0. With the seeds' spread the verdict must not call a retrain worse."""
    spread = {"accuracy": {"min": 0.9760, "max": 0.9778}, "unmasked_recall": {"min": 0.9726, "max": 0.9815}}
    seed_only = _test(0.90, (-0.0006, -0.0052, 0.0041), (-0.0089, -0.0153, -0.0026))
    assert verdict(seed_only)[0] == "worse"  # the crops' noise alone
    said, reasons = verdict(seed_only, spread)
    assert said == "no detectable difference" and "within the retraining noise" in reasons[-1]
    # beyond the spread it is worse still, for unmasked recall and for accuracy
    assert verdict(_test(0.90, (0.0, -0.01, 0.01), (-0.03, -0.05, -0.01)), spread)[0] == "worse"
    assert verdict(_test(0.01, (-0.02, -0.03, -0.01), (0.0, -0.01, 0.01)), spread)[0] == "worse"
    said, reasons = verdict(_test(0.01, (-0.001, -0.002, -0.0005), (0.0, -0.01, 0.01)), spread)
    assert said == "no detectable difference" and "accuracy range" in reasons[-1]
    # a significant accuracy gain with unmasked recall down (within the noise) is not better
    assert verdict(_test(0.01, (0.05, 0.01, 0.09), (-0.005, -0.01, -0.001)), spread)[0] == "no detectable difference"


def test_paired_counts():
    truth_right_a = np.array([1, 1, 0, 0, 1], bool)
    truth_right_b = np.array([1, 0, 1, 1, 1], bool)
    unmasked = np.array([1, 1, 1, 0, 0], bool)
    test = paired_test(truth_right_a, truth_right_b, unmasked, unmasked & truth_right_a, unmasked & truth_right_b)
    assert (test.both_right, test.a_only, test.b_only, test.both_wrong) == (2, 1, 2, 0)
    assert test.accuracy.estimate == pytest.approx(0.2) and test.unmasked_recall.estimate == pytest.approx(0.0)


SUBGROUPS_A = {
    "subgroups": {
        "face_size": [
            {"bin": "<16", "faces": 12, "face_recall": 0.5, "unmasked_recall": 0.4, "mask_false_alarm": 0.1},
            {"bin": "16-32", "faces": 80, "face_recall": 0.8, "unmasked_recall": 0.9, "mask_false_alarm": 0.05},
        ],
        "brightness": [{"bin": "dark", "faces": 40, "unmasked_recall": float("nan"), "mask_false_alarm": 0.02}],
        "pose": [{"bin": "profile", "faces": 50, "unmasked_recall": 0.7}],
    }
}
SUBGROUPS_B = {
    "subgroups": {
        "face_size": [
            {"bin": "<16", "faces": 12, "face_recall": 0.5, "unmasked_recall": 0.1, "mask_false_alarm": 0.1},
            {"bin": "16-32", "faces": 80, "face_recall": 0.8, "unmasked_recall": 0.92, "mask_false_alarm": 0.20},
        ],
        "brightness": [{"bin": "dark", "faces": 40, "unmasked_recall": 0.5, "mask_false_alarm": 0.02}],
    }
}


def test_subgroup_deltas_over_the_shared_shape():
    deltas = {(d.subgroup, d.bin, d.figure): d for d in subgroup_deltas(SUBGROUPS_A, SUBGROUPS_B)}
    assert deltas[("face_size", "16-32", "mask_false_alarm")].delta == pytest.approx(0.15)
    assert deltas[("face_size", "<16", "unmasked_recall")].delta == pytest.approx(-0.3)
    assert ("brightness", "dark", "unmasked_recall") not in deltas  # NaN on one side: nothing to compare
    assert not any(d.subgroup == "pose" for d in deltas.values())  # only in A
    assert not any(d.figure == "faces" for d in deltas.values())
    warnings = subgroup_warnings(list(deltas.values()))
    # the false alarms rose in a bin of 80 faces; the recall fell in a bin too small to warn about (12 faces)
    assert len(warnings) == 1 and warnings[0].startswith("face_size 16-32: mask_false_alarm")
    assert subgroup_deltas({}, SUBGROUPS_B) == [] and subgroup_deltas({"subgroups": None}, {}) == []

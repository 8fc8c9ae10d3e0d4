"""The paired statistics behind `models compare`: McNemar's exact test on the crops both models judged, cluster
bootstrap intervals of the differences, and the verdict rule (VERDICT_RULE, quoted in the output and the docs)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
BOOTSTRAP_ROUNDS = 2000
VERDICT_RULE = (
    "better: McNemar p < 0.05 and the 95% bootstrap interval of the accuracy difference (B - A) lies above 0, "
    "unmasked recall not worse beyond the noise (its interval does not lie below 0), and, with a seed spread, the "
    "accuracy gain larger than the spread's range; worse: McNemar p < 0.05 with the accuracy interval below 0, or the "
    "unmasked-recall interval below 0 (B misses unmasked faces A finds, beyond the noise), and, with a seed spread, "
    "that loss larger than the spread's range of the same figure; otherwise no detectable difference"
)


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p: under 'no difference' each discordant crop is as likely to favour either model, so
    min(a_only, b_only) is Binomial(a_only + b_only, 1/2). a_only: crops only A got right; b_only: only B."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(a_only, b_only) + 1))
    return min(1.0, 2 * tail / 2**n)  # exact integers, one rounding at the end (2**n overflows no float)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return {"difference": self.estimate, "ci95": [self.low, self.high]}

    @property
    def above_zero(self) -> bool:
        return self.low > 0

    @property
    def below_zero(self) -> bool:
        return self.high < 0


def bootstrap_difference(
    hits_a: np.ndarray,
    hits_b: np.ndarray,
    groups: np.ndarray | None = None,
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> Interval:
    """Difference of the hit rates (B - A) over the same items, with a 95% percentile interval from resampling
    whole groups (crops of one photo or its near-duplicates move together; None: every item its own group)."""
    hits_a, hits_b = np.asarray(hits_a, float), np.asarray(hits_b, float)
    n = len(hits_a)
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    _, group_of = np.unique(np.arange(n) if groups is None else np.asarray(groups), return_inverse=True)
    n_groups = int(group_of.max()) + 1
    diff_per_group = np.bincount(group_of, hits_b - hits_a, n_groups)
    size_per_group = np.bincount(group_of, None, n_groups).astype(float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n_groups, (rounds, n_groups))
    sizes = size_per_group[picks].sum(axis=1)
    diffs = diff_per_group[picks].sum(axis=1) / np.maximum(sizes, 1)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return Interval(float((hits_b - hits_a).mean()), float(low), float(high))


@dataclass
class PairedTest:
    n: int
    both_right: int
    a_only: int  # crops only A got right
    b_only: int  # crops only B got right
    both_wrong: int
    p_value: float
    accuracy: Interval
    unmasked_recall: Interval

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "both_right": self.both_right,
            "only_a_right": self.a_only,
            "only_b_right": self.b_only,
            "both_wrong": self.both_wrong,
            "mcnemar_p": self.p_value,
            "accuracy": self.accuracy.to_dict(),
            "unmasked_recall": self.unmasked_recall.to_dict(),
        }


def paired_test(
    right_a: np.ndarray,
    right_b: np.ndarray,
    unmasked: np.ndarray,
    caught_a: np.ndarray,
    caught_b: np.ndarray,
    groups: np.ndarray | None = None,
    seed: int = 0,
) -> PairedTest:
    """right_*: each crop's label right; unmasked: the crop is truly no_mask or incorrect; caught_*: called no_mask or
    incorrect (the unmasked recall counts caught among unmasked)."""
    right_a, right_b, unmasked = (np.asarray(x, bool) for x in (right_a, right_b, unmasked))
    a_only, b_only = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    sub = None if groups is None else np.asarray(groups)[unmasked]
    return PairedTest(
        n=len(right_a),
        both_right=int((right_a & right_b).sum()),
        a_only=a_only,
        b_only=b_only,
        both_wrong=int((~right_a & ~right_b).sum()),
        p_value=mcnemar_exact(a_only, b_only),
        accuracy=bootstrap_difference(right_a, right_b, groups, seed=seed),
        unmasked_recall=bootstrap_difference(
            np.asarray(caught_a, bool)[unmasked], np.asarray(caught_b, bool)[unmasked], sub, seed=seed + 1
        ),
    )


def verdict(test: PairedTest, spread: dict | None = None) -> tuple[str, list[str]]:
    """(better | worse | no detectable difference, the reasons) by VERDICT_RULE; spread: a `models spread` file's
    figures ({"accuracy": {"min", "max", ...}, ...}), the differences retraining alone makes."""
    p = f"= {test.p_value:.3g}" if test.p_value > 0 else "< 1e-300"  # below the smallest float
    reasons = [f"McNemar p {p} ({test.a_only} crops only A got right, {test.b_only} only B)"]
    acc, unm = test.accuracy, test.unmasked_recall
    reasons.append(f"accuracy B - A = {acc.estimate:+.4f}, 95% CI [{acc.low:+.4f}, {acc.high:+.4f}]")
    reasons.append(f"unmasked recall B - A = {unm.estimate:+.4f}, 95% CI [{unm.low:+.4f}, {unm.high:+.4f}]")
    significant = test.p_value < ALPHA
    unmasked_noise = spread_range(spread, "unmasked_recall")
    if unm.below_zero:
        if unmasked_noise is None or -unm.estimate > unmasked_noise:
            return "worse", [*reasons, "B misses unmasked faces that A finds, beyond the noise"]
        reasons.append(
            f"the unmasked-recall loss is within the retraining noise (range over seeds {unmasked_noise:.4f})"
        )
    noise = spread_range(spread, "accuracy")
    if significant and acc.below_zero:
        if noise is None or -acc.estimate > noise:
            return "worse", reasons
        return "no detectable difference", [
            *reasons,
            f"the loss is within the retraining noise (accuracy range over seeds {noise:.4f})",
        ]
    if unm.below_zero:
        return "no detectable difference", reasons  # a gain in accuracy cannot make up for unmasked faces missed
    if significant and acc.above_zero:
        if noise is not None and acc.estimate <= noise:
            return "no detectable difference", [
                *reasons,
                f"the gain is within the retraining noise (accuracy range over seeds {noise:.4f})",
            ]
        if noise is not None:
            reasons.append(f"the gain exceeds the retraining noise (accuracy range over seeds {noise:.4f})")
        return "better", reasons
    return "no detectable difference", reasons


def spread_range(spread: dict | None, metric: str) -> float | None:
    """max - min of a metric over the seeds of a spread file; None where not given."""
    if not spread or metric not in spread:
        return None
    figures = spread[metric]
    return float(figures["max"]) - float(figures["min"])

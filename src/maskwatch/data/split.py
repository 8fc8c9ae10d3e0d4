"""Train/val split by group (a group never straddles), stratified by (source, class)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def split_by_group(
    groups: np.ndarray | Sequence[int], strata: Sequence[str], val_fraction: float = 0.15, seed: int = 0
) -> np.ndarray:
    """'train'/'val' per item. Whole groups, in random order, go to val while they mostly fill unmet val quotas
    of their strata; quotas are val_fraction of each stratum's item count.

    Random, not largest first: a group is an image (or near-duplicates of one), and taking the largest first
    filled val with crowd photos, which made it far harder than the photos the model meets."""
    if not 0 <= val_fraction < 1:
        raise ValueError("val_fraction must be in [0, 1)")
    groups = np.asarray(groups)
    group_ids, group_of = np.unique(groups, return_inverse=True)
    stratum_ids, stratum_of = np.unique(np.asarray(strata), return_inverse=True)
    counts = np.zeros((len(group_ids), len(stratum_ids)), np.int64)
    np.add.at(counts, (group_of, stratum_of), 1)
    quota = val_fraction * counts.sum(axis=0)
    in_val = np.zeros(len(stratum_ids))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(group_ids))
    val_group = np.zeros(len(group_ids), bool)
    for g in order:
        c = counts[g]
        useful = np.minimum(c, np.maximum(quota - in_val, 0)).sum()
        if useful >= 0.5 * c.sum():
            val_group[g] = True
            in_val += c
    splits = np.where(val_group[group_of], "val", "train")
    assert_no_straddle(groups, splits)
    return splits


def assert_no_straddle(groups: np.ndarray | Sequence[int], splits: np.ndarray | Sequence[str]) -> None:
    groups, splits = np.asarray(groups), np.asarray(splits)
    val_groups = set(groups[splits == "val"].tolist())
    train_groups = set(groups[splits == "train"].tolist())
    both = val_groups & train_groups
    assert not both, f"{len(both)} groups straddle train/val, e.g. {sorted(both)[:3]}"

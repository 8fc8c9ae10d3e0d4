"""Train/val split by group (a group never straddles), stratified by (source, class)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def group_order(group_keys: Sequence[str], seed: int) -> np.ndarray:
    """The groups' indices in the order the split visits them: by SHA-256 of (seed, the group's key). A pseudo-random
    order that depends on each group's own data only: a group added, dropped or joined elsewhere moves no other."""
    digests = [hashlib.sha256(f"{seed}:{key}".encode()).hexdigest() for key in group_keys]
    return np.array(sorted(range(len(digests)), key=digests.__getitem__), np.int64)


def split_by_group(
    groups: np.ndarray | Sequence[int],
    strata: Sequence[str],
    val_fraction: float = 0.15,
    seed: int = 0,
    keys: Sequence[str] | None = None,
) -> np.ndarray:
    """'train'/'val' per item. Whole groups, in a pseudo-random order (group_order), go to val while they mostly fill
    unmet val quotas of their strata; quotas are val_fraction of each stratum's item count.

    keys: per item, something of its data alone (the photo's SHA-1): a group's key is the smallest of its items',
    so the split does not depend on how groups were numbered (None: the group ids themselves).

    Random, not largest first: a group is an image (or near-duplicates of one), and taking the largest first
    filled val with crowd photos, which made it far harder than the photos the model meets."""
    if not 0 <= val_fraction < 1:
        raise ValueError("val_fraction must be in [0, 1)")
    groups = np.asarray(groups)
    group_ids, group_of = np.unique(groups, return_inverse=True)
    group_keys = [str(g) for g in group_ids] if keys is None else _smallest_key(group_of, keys, len(group_ids))
    stratum_ids, stratum_of = np.unique(np.asarray(strata), return_inverse=True)
    counts = np.zeros((len(group_ids), len(stratum_ids)), np.int64)
    np.add.at(counts, (group_of, stratum_of), 1)
    quota = val_fraction * counts.sum(axis=0)
    in_val = np.zeros(len(stratum_ids))
    order = group_order(group_keys, seed)
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


def _smallest_key(group_of: np.ndarray, keys: Sequence[str], n_groups: int) -> list[str]:
    smallest: list[str | None] = [None] * n_groups
    for group, key in zip(group_of.tolist(), keys, strict=True):
        if smallest[group] is None or key < smallest[group]:
            smallest[group] = key
    return [str(k) for k in smallest]


def assert_no_straddle(groups: np.ndarray | Sequence[int], splits: np.ndarray | Sequence[str]) -> None:
    groups, splits = np.asarray(groups), np.asarray(splits)
    val_groups = set(groups[splits == "val"].tolist())
    train_groups = set(groups[splits == "train"].tolist())
    both = val_groups & train_groups
    assert not both, f"{len(both)} groups straddle train/val, e.g. {sorted(both)[:3]}"

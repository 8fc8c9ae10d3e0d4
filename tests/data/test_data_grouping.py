"""Perceptual hashing, near-duplicate grouping and the group-respecting split."""

from __future__ import annotations

import time

import cv2
import numpy as np

from maskwatch.data.build import group_images
from maskwatch.data.hashing import NEAR_DUP_BITS, byte_hash, close_pairs, phash
from maskwatch.data.split import assert_no_straddle, split_by_group
from synthetic_images import scene


def reencode(image: np.ndarray, quality: int) -> np.ndarray:
    _ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def hamming(a, b) -> int:
    return int(np.bitwise_count(np.uint64(a) ^ np.uint64(b)))


def test_phash_near_copy_close_different_far():
    original = scene(320, 240, 11)
    near = reencode(cv2.resize(original, (200, 150), interpolation=cv2.INTER_AREA), 60)
    other = scene(320, 240, 12)
    assert hamming(phash(original), phash(near)) <= NEAR_DUP_BITS
    assert hamming(phash(original), phash(other)) > 2 * NEAR_DUP_BITS
    assert phash(original) == phash(original.copy())


def test_grouping_exact_near_and_different():
    original = scene(320, 240, 21)
    _ok, data = cv2.imencode(".jpg", original)
    copy = bytes(data)  # exact copy: same bytes
    assert byte_hash(bytes(data)) == byte_hash(copy)
    near = reencode(cv2.resize(original, (160, 120), interpolation=cv2.INTER_AREA), 50)
    different = scene(320, 240, 22)
    hashes = np.array(
        [
            phash(original),
            phash(cv2.imdecode(np.frombuffer(copy, np.uint8), cv2.IMREAD_COLOR)),
            phash(near),
            phash(different),
        ],
        np.uint64,
    )
    groups = group_images(hashes, np.zeros(0, np.uint64), np.zeros(0, np.int64)).group_of_image
    assert groups[0] == groups[1] == groups[2] != groups[3]


def test_upper_face_hash_joins_images():
    # Images 0 and 2 look nothing alike as a whole but share a face whose upper half hashes the same.
    hashes = np.array([phash(scene(100, 100, s)) for s in (31, 32, 33)], np.uint64)
    face_hashes = np.array([phash(scene(64, 64, 40)), phash(scene(64, 64, 41)), phash(scene(64, 64, 40))], np.uint64)
    groups = group_images(hashes, face_hashes, np.array([0, 1, 2])).group_of_image
    assert groups[0] == groups[2] != groups[1]


def test_close_pairs_matches_brute_force_and_is_fast():
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, 3000, dtype=np.uint64)
    hashes[10] = hashes[5] ^ np.uint64(0b111)  # 3 bits apart
    pairs = {tuple(p) for p in close_pairs(hashes, 6, chunk=256).tolist()}
    assert (5, 10) in pairs
    small = hashes[:300]
    brute = {(i, j) for i in range(300) for j in range(i + 1, 300) if hamming(small[i], small[j]) <= 20}
    assert {tuple(p) for p in close_pairs(small, 20, chunk=64).tolist()} == brute
    big = rng.integers(0, 2**63, 17000, dtype=np.uint64)
    start = time.perf_counter()
    close_pairs(big, 8)
    assert time.perf_counter() - start < 20  # ~17k images: seconds, not minutes


def test_split_never_straddles_and_is_stratified():
    rng = np.random.default_rng(1)
    n = 4000
    groups = rng.integers(0, 1500, n)
    labels = np.where(rng.random(n) < 0.3, "no_mask", "mask")
    splits = split_by_group(groups, labels, val_fraction=0.15, seed=3)
    assert_no_straddle(groups, splits)
    for label in ("mask", "no_mask"):
        frac = (splits[labels == label] == "val").mean()
        assert abs(frac - 0.15) < 0.02, (label, frac)
    assert (split_by_group(groups, labels, 0.15, seed=3) == splits).all()
    assert not (split_by_group(groups, labels, 0.15, seed=4) == splits).all()


def test_split_does_not_favour_large_groups():
    """Val holds about val_fraction of the groups too, not a few large ones (crowd photos) filling the quota."""
    rng = np.random.default_rng(2)
    sizes = np.where(rng.random(1000) < 0.05, 40, 1)  # 5 % crowd photos hold ~2/3 of the faces
    groups = np.repeat(np.arange(1000), sizes)
    splits = split_by_group(groups, np.full(len(groups), "mask"), val_fraction=0.15, seed=0)
    val_groups = np.unique(groups[splits == "val"])
    assert abs((splits == "val").mean() - 0.15) < 0.02
    assert 0.10 < len(val_groups) / 1000 < 0.20
    assert 0.02 < (sizes[val_groups] == 40).mean() < 0.10

"""Exact (byte) and perceptual (DCT pHash) image hashes, and grouping of near-duplicates by Hamming distance."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np

# Max Hamming distance (of 64 bits) for two images to count as near-duplicates. Chosen by looking at sampled
# pairs on the shared data (side-by-side PNGs): at <= 4 every pair was the same photo (re-encoded, resized,
# slightly cropped or recoloured); at 6 about half were different people in the same pose (aligned tight face
# crops of CelebA-like sets hash alike); at 8 nearly all were different people. DCT hashes with a median
# split have a fixed number of set bits, so distances are even: 4 is the last safe step.
NEAR_DUP_BITS = 4
# The same threshold for the upper-face hashes (upper part of the face crop, and for class-folder images
# the upper part of the image): sampled pairs at <= 4 were the same face, at 6 mixed.
UPPER_FACE_BITS = 4
UPPER_FRACTION = 0.45  # forehead and eyes: a pasted mask starts below
_BIT_WEIGHTS = (1 << np.arange(64, dtype=np.uint64)).astype(np.uint64)


def byte_hash(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def phash(image: np.ndarray) -> np.uint64:
    """64-bit DCT perceptual hash: grey 32x32, DCT, top-left 8x8 low frequencies (without DC) against their median."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].ravel()
    bits = low > np.median(low[1:])
    bits[0] = False  # DC only says how bright the image is
    return np.uint64((bits.astype(np.uint64) * _BIT_WEIGHTS).sum())


def upper_face(image: np.ndarray, fraction: float = UPPER_FRACTION) -> np.ndarray:
    """Top part of a face crop or a tight face image (forehead and eyes), which a pasted mask leaves unchanged."""
    return image[: max(1, round(image.shape[0] * fraction))]


class UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return int(root)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def labels(self) -> np.ndarray:
        return np.array([self.find(i) for i in range(len(self.parent))])


def close_pairs(hashes: np.ndarray, max_bits: int, chunk: int = 1024) -> np.ndarray:
    """(P, 2) index pairs i < j with Hamming distance <= max_bits, computed in chunks of rows."""
    hashes = np.asarray(hashes, np.uint64)
    out = []
    for start in range(0, len(hashes), chunk):
        block = hashes[start : start + chunk]
        dist = np.bitwise_count(block[:, None] ^ hashes[None, :])
        i, j = np.nonzero(dist <= max_bits)
        i = i + start
        keep = i < j
        out.append(np.stack([i[keep], j[keep]], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 2), np.int64)


def pair_distances(hashes: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    hashes = np.asarray(hashes, np.uint64)
    return np.bitwise_count(hashes[pairs[:, 0]] ^ hashes[pairs[:, 1]]).astype(int)

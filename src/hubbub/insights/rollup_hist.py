"""Duration histograms of the daily rollups: fixed log-spaced buckets, each keeping its count and its sum.

Why these buckets: a percentile read from a histogram is only as exact as its buckets are narrow. Bucket 0
holds [0, 1 s); bucket k ≥ 1 holds [2^((k-1)/64), 2^(k/64)) seconds, so within a bucket the largest value
is at most 2^(1/64) ≈ 1.0109 times the smallest, up to 2^27 s (about 4 years; longer spans share the last
bucket). Each bucket keeps the sum of its values besides their count, and stands for its *mean*: a bucket
holding one distinct value gives that value exactly, and in general the k-th smallest value is read as the
mean of the bucket it falls in, which lies in the same bucket.

Error bound: p50/p90/p95 are interpolated between neighbouring ranks exactly as numpy's default ("linear")
percentile does, on those bucket means, so each differs from the exact percentile by **less than 1.1 %**
of its value (under 1 s for spans below one second); the mean is exact (sums are kept). The pages round
minutes to one decimal either way, so most figures are identical to a direct computation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

STEPS_PER_DOUBLING = 64
TOP_EXPONENT = 27
BUCKETS = TOP_EXPONENT * STEPS_PER_DOUBLING + 1
PERCENTILES = (50, 90, 95)


def bucket_of(seconds: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The bucket index of each duration (seconds, ≥ 0)."""
    out = np.zeros(len(seconds), dtype=np.int64)
    big = seconds >= 1.0
    out[big] = np.floor(np.log2(seconds[big]) * STEPS_PER_DOUBLING).astype(np.int64) + 1
    return np.minimum(out, BUCKETS - 1)


def histogram(seconds: np.ndarray[Any, Any]) -> bytes:
    """The sparse histogram of some durations as a rollup row stores it: bucket indexes, counts and sums of
    seconds, one little-endian float64 array (exact for indexes and counts) packed as bytes."""
    if not len(seconds):
        return b""
    buckets = bucket_of(seconds)
    counts = np.bincount(buckets, minlength=BUCKETS)
    sums = np.bincount(buckets, weights=seconds, minlength=BUCKETS)
    used = np.flatnonzero(counts)
    return np.concatenate([used, counts[used], sums[used]]).astype("<f8").tobytes()


def unpack(blob: bytes | memoryview) -> np.ndarray[Any, Any]:
    """A stored histogram as a 3 × k array: bucket indexes, counts, sums."""
    return np.frombuffer(blob, dtype="<f8").reshape(3, -1)


def dense(blobs: list[bytes | memoryview], codes: np.ndarray[Any, Any], groups: int) -> tuple[Any, Any]:
    """Counts and sums per group and bucket (two arrays of shape groups × BUCKETS) from stored histograms,
    `codes[r]` being the group of `blobs[r]`."""
    parts = [unpack(b) for b in blobs]
    if not any(p.shape[1] for p in parts):
        return np.zeros((groups, BUCKETS)), np.zeros((groups, BUCKETS))
    packed = np.concatenate(parts, axis=1)
    index = packed[0].astype(np.int64) + np.repeat(codes, [p.shape[1] for p in parts]) * BUCKETS
    counts = np.bincount(index, packed[1], groups * BUCKETS)
    sums = np.bincount(index, packed[2], groups * BUCKETS)
    return counts.reshape(groups, BUCKETS), sums.reshape(groups, BUCKETS)


def _minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


def stats(counts: np.ndarray[Any, Any], sums: np.ndarray[Any, Any]) -> dict[str, float | int | None]:
    """count, p50/p90/p95 and mean in minutes, the shape `report_queries.stats` gives for exact data."""
    used = counts > 0
    n = counts[used]
    total = int(n.sum())
    if not total:
        return {"count": 0, "p50": None, "p90": None, "p95": None, "mean": None}
    means = sums[used] / n
    upto = np.cumsum(n)  # ranks 0..upto[0]-1 fall in the first used bucket, and so on

    def ranked(k: int) -> float:
        return float(means[int(np.searchsorted(upto, k, side="right"))])

    out: dict[str, float | int | None] = {"count": total}
    for q in PERCENTILES:
        position = q / 100 * (total - 1)
        low = int(np.floor(position))
        high = min(low + 1, total - 1)
        value = ranked(low) + (position - low) * (ranked(high) - ranked(low))
        out[f"p{q}"] = _minutes(value)
    out["mean"] = _minutes(float(sums[used].sum()) / total)
    return out

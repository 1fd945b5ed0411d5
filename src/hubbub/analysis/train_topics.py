"""Training the general care taxonomy (`general_topics.py`), apart from `train.py`'s other heads.

`train.train` calls `fit_general_topic` with the rest; `add_general_topic` fits it onto an already trained
model (same featurizer, other heads untouched), which is how the shipped artifact got it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hubbub.analysis import data
from hubbub.analysis.features import Featurizer
from hubbub.analysis.general_topics import (
    AIRLINE_TOPIC,
    BITEXT_TOPIC,
    CUE_BOOST,
    GENERAL_TOPICS,
    SEED_EXAMPLES,
    TOPIC_CUES,
)
from hubbub.analysis.topics import TopicModel

if TYPE_CHECKING:
    from hubbub.analysis.model import HubbubModel
    from hubbub.analysis.train import Correction


GENERAL_TOPIC_C = 2.0
GENERAL_BITEXT_PER_INTENT = 60
GENERAL_AIRLINE_PER_TOPIC = 60
GENERAL_AIRLINE_WEIGHT = 0.5  # airline rows teach the shared causes (waiting, staff) without their vocabulary winning
GENERAL_SEED_WEIGHT = 3.0


def general_topic_rows(
    weak: Sequence[data.AirlineRow],
    data_dir: Path,
    corrected: Sequence[Correction],
    correction_weight: float = 5.0,
) -> list[tuple[str, str, float]]:
    """(text, topic, weight) rows of the general care taxonomy (see `general_topics.py` for the sources)."""
    rows: list[tuple[str, str, float]] = []
    path = data_dir / "bitext_customer_support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    if path.exists():
        by: dict[str, list[str]] = {}
        with path.open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                if r["intent"] in BITEXT_TOPIC:
                    by.setdefault(r["intent"], []).append(r["instruction"])
        rng = random.Random(17)
        for intent, texts in sorted(by.items()):
            texts = sorted(set(texts))
            rng.shuffle(texts)
            rows += [(t, BITEXT_TOPIC[intent], 1.0) for t in texts[:GENERAL_BITEXT_PER_INTENT]]
    per: dict[str, int] = {}
    for a in sorted(weak, key=lambda a: a.tweet_id):
        general = AIRLINE_TOPIC.get(a.topic)
        if general and per.get(a.topic, 0) < GENERAL_AIRLINE_PER_TOPIC and a.reason_confidence >= 0.6:
            per[a.topic] = per.get(a.topic, 0) + 1
            rows.append((a.text, general, GENERAL_AIRLINE_WEIGHT))
    rows += [(t, topic, GENERAL_SEED_WEIGHT) for topic, texts in SEED_EXAMPLES.items() for t in texts]
    rows += [(c.text, c.label, correction_weight) for c in corrected if c.label in GENERAL_TOPICS]
    return rows


def fit_general_topic(
    feat: Featurizer,
    weak: Sequence[data.AirlineRow],
    data_dir: Path,
    corrected: Sequence[Correction],
    correction_weight: float = 5.0,
    log: Callable[[str], None] = lambda _msg: None,
) -> TopicModel:
    """The general care taxonomy on the engine's word block (no second tokenisation, ~2 µs a complaint)."""
    rows = general_topic_rows(weak, data_dir, corrected, correction_weight)
    log(f"fitting the general topic taxonomy on {len(rows)} rows")
    model = TopicModel().fit(
        [r[0] for r in rows],
        [r[1] for r in rows],
        kind="lr",
        sample_weight=[r[2] for r in rows],
        shared_vectorizer=feat.word,
        class_weight_power=1.0,
        c=GENERAL_TOPIC_C,
    )
    model.set_cues(TOPIC_CUES, CUE_BOOST)
    return model


def add_general_topic(model: HubbubModel, data_dir: str | Path | None = None) -> HubbubModel:
    """Fit the general taxonomy onto an already trained model (same featurizer, other heads untouched), for a
    model trained before the taxonomy existed: the shipped artifact got it this way, from a Python shell
    (`add_general_topic(HubbubModel.load(p)).save(p)`); a full `hubbub analysis train` fits it with the rest."""
    ddir = data.shared_dir(data_dir)
    weak = [r for r in data.load_airline(ddir) if r.split in ("train", "dev")]
    model.general_topic = fit_general_topic(model.featurizer, weak, ddir, [])
    # the labels change (topics of every non-airline complaint), so the version does too: reports and
    # `reanalyze` tell the two apart; the suffix hashes the taxonomy's training rows
    rows = general_topic_rows(weak, ddir, [])
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:8]
    model.version = f"{model.version.split('/')[0]}/general-topics-{digest}"
    return model

"""Loading the shared datasets and splitting them reproducibly.

The split is decided *before* any model is built and never changes with the
model: each tweet goes to train/dev/test by a seeded hash of its normalised text
(mentions, URLs, case, punctuation runs and whitespace removed). Near-duplicate
tweets ("@united lost my bag" / "@AmericanAir lost my bag") therefore share a
group and cannot leak across splits. Only the shared files are read here; the
shipped model never needs them at run time.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SPLIT_SEED = "hubbub-split-2026"
# fractions of groups: train 70 %, dev 15 %, test 15 %
SPLIT_BOUNDS = (0.70, 0.85)
GOLD_EVAL_SEED = 20261101
GOLD_EVAL_FRACTION = 0.35

_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_NONWORD = re.compile(r"[^a-z0-9]+")

# Airline negativereason -> Hubbub topic label. "Can't Tell" is not a cause:
# it is dropped from topic training and from the topic benchmark (documented).
AIRLINE_TOPICS: dict[str, str] = {
    "Late Flight": "late flight",
    "Lost Luggage": "lost luggage",
    "Damaged Luggage": "damaged luggage",
    "Customer Service Issue": "customer service issue",
    "Cancelled Flight": "cancelled flight",
    "Bad Flight": "bad flight",
    "Flight Booking Problems": "flight booking problems",
    "Flight Attendant Complaints": "flight attendant complaints",
    "longlines": "long lines",
}


def repo_root() -> Path:
    """The checkout root (…/src/hubbub/analysis/data.py → four levels up)."""
    return Path(__file__).resolve().parents[3]


def shared_dir(override: str | Path | None = None) -> Path:
    """Where the shared datasets live: argument, $HUBBUB_SHARED_DIR, or <repo>/../shared/datasets."""
    if override:
        return Path(override)
    env = os.environ.get("HUBBUB_SHARED_DIR")
    if env:
        return Path(env)
    return repo_root().parent / "shared" / "datasets"


def normalise_for_grouping(text: str) -> str:
    """Text with mentions, URLs, case and punctuation removed: the near-duplicate key."""
    t = _URL.sub(" ", _MENTION.sub(" ", text.lower()))
    return _NONWORD.sub(" ", t).strip()


def split_of(text: str, seed: str = SPLIT_SEED) -> str:
    """'train', 'dev' or 'test' for a text, stable across runs and machines."""
    key = normalise_for_grouping(text)
    h = hashlib.sha1(f"{seed}|{key}".encode()).digest()
    u = int.from_bytes(h[:8], "big") / 2**64
    if u < SPLIT_BOUNDS[0]:
        return "train"
    if u < SPLIT_BOUNDS[1]:
        return "dev"
    return "test"


@dataclass(frozen=True, slots=True)
class AirlineRow:
    tweet_id: str
    text: str
    sentiment: str
    sentiment_confidence: float
    reason: str  # raw negativereason ('' if none)
    reason_confidence: float
    airline: str
    split: str

    @property
    def topic(self) -> str:
        """Hubbub topic label, '' when none or "Can't Tell"."""
        return AIRLINE_TOPICS.get(self.reason, "")


def _float(s: str) -> float:
    try:
        return float(s)
    except (TypeError, ValueError):
        return 0.0


def load_airline(data_dir: str | Path | None = None) -> list[AirlineRow]:
    """All airline tweets with their split; duplicates by tweet_id are kept once."""
    path = shared_dir(data_dir) / "airline_sentiment" / "Tweets.csv"
    rows: list[AirlineRow] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["tweet_id"] in seen:
                continue
            seen.add(r["tweet_id"])
            rows.append(
                AirlineRow(
                    tweet_id=r["tweet_id"],
                    text=r["text"],
                    sentiment=r["airline_sentiment"],
                    sentiment_confidence=_float(r["airline_sentiment_confidence"]),
                    reason=r["negativereason"],
                    reason_confidence=_float(r["negativereason_confidence"]),
                    airline=r["airline"],
                    split=split_of(r["text"]),
                )
            )
    return rows


def load_tweeteval(data_dir: str | Path | None = None) -> tuple[list[str], list[str]]:
    """TweetEval sentiment *validation* texts and labels: out-of-domain test only, never trained on."""
    path = shared_dir(data_dir) / "tweeteval_sentiment" / "val.csv"
    texts: list[str] = []
    labels: list[str] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            texts.append(r["text"])
            labels.append(r["label"])
    return texts, labels


def iter_twcs_inbound(data_dir: str | Path | None = None) -> Iterator[dict[str, str]]:
    """Customer (inbound) tweets of the TWCS sample."""
    path = shared_dir(data_dir) / "twcs_sample" / "twcs_first5000.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["inbound"] == "True":
                yield r


# Bitext intents -> Hubbub intent, used only as weak extra training data.
BITEXT_INTENT: dict[str, str] = {
    "complaint": "complaint",
    "review": "praise",  # mixed; filtered by wording below
    "payment_issue": "complaint",
    "registration_problems": "complaint",
}


def load_bitext_weak(data_dir: str | Path | None = None, per_intent: int = 40) -> list[tuple[str, str]]:
    """A small, balanced sample of Bitext utterances as weak intent labels.

    Most Bitext requests ("how can I cancel order X?") are questions; its
    `complaint` rows are complaints. It is synthetic text, so only a few rows
    per intent are taken and it never serves as a benchmark.
    """
    path = shared_dir(data_dir) / "bitext_customer_support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    if not path.exists():
        return []
    by_intent: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            by_intent.setdefault(r["intent"], []).append(r["instruction"])
    rng = random.Random(7)
    out: list[tuple[str, str]] = []
    for intent, texts in sorted(by_intent.items()):
        texts = sorted(set(texts))
        rng.shuffle(texts)
        if intent == "review":
            continue  # mixes praise and complaint; too ambiguous to be useful
        if intent in ("complaint", "payment_issue", "registration_problems"):
            label = "complaint" if intent == "complaint" else "question"
        else:
            label = "question"
        out.extend((t, label) for t in texts[:per_intent])
    return out


@dataclass(frozen=True, slots=True)
class GoldRow:
    source: str
    id: str
    text: str
    intent: str
    journey_stage: str
    split: str  # 'train' or 'eval'


def gold_path() -> Path:
    return repo_root() / "tests" / "data" / "gold_intent_journey.csv"


def gold_split_of(source: str, row_id: str) -> str:
    """Held-out portion of the gold set: a seeded hash of (source, id)."""
    h = hashlib.sha1(f"{GOLD_EVAL_SEED}|{source}|{row_id}".encode()).digest()
    return "eval" if int.from_bytes(h[:8], "big") / 2**64 < GOLD_EVAL_FRACTION else "train"


def load_gold(path: str | Path | None = None) -> list[GoldRow]:
    """The hand-labelled intent/journey gold set with its fixed train/eval split."""
    p = Path(path) if path else gold_path()
    out: list[GoldRow] = []
    with p.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            out.append(
                GoldRow(
                    source=r["source"],
                    id=r["id"],
                    text=r["text"],
                    intent=r["intent"],
                    journey_stage=r["journey_stage"],
                    split=gold_split_of(r["source"], r["id"]),
                )
            )
    return out


def gold_sentiment_path() -> Path:
    return repo_root() / "tests" / "data" / "gold_sentiment_extra.csv"


def load_gold_sentiment(path: str | Path | None = None) -> dict[tuple[str, str], str]:
    """Hand-labelled sentiment of the gold rows added in the second labelling round, by (source, id).

    The TWCS rows among them are tweets to brands other than airlines: the
    train portion is the *out-of-airline dev set* the sentiment domain gate is
    chosen on (TweetEval stays an untouched test). Empty when the file is absent.
    """
    p = Path(path) if path else gold_sentiment_path()
    if not p.exists():
        return {}
    with p.open(encoding="utf-8", newline="") as fh:
        return {(r["source"], r["id"]): r["sentiment"] for r in csv.DictReader(fh)}


# Round 4 (docs/annotation.md): a separate, frozen file whose train/eval split is written in the file itself,
# decided by a seeded hash before any model was trained on it, so it can never drift with code changes.
GOLD2_SPLIT_SEED = "hubbub-gold2-20261124"
GOLD2_EVAL_FRACTION = 0.30


def gold2_path() -> Path:
    return repo_root() / "tests" / "data" / "gold_intent_journey_2.csv"


def gold2_split_of(source: str, row_id: str) -> str:
    """The split rule the round-4 file was written with (the file's `split` column is authoritative)."""
    h = hashlib.sha1(f"{GOLD2_SPLIT_SEED}|{source}|{row_id}".encode()).digest()
    return "eval" if int.from_bytes(h[:8], "big") / 2**64 < GOLD2_EVAL_FRACTION else "train"


def load_gold2(path: str | Path | None = None) -> tuple[list[GoldRow], dict[tuple[str, str], str]]:
    """Round-4 gold rows (split read from the file) and their sentiment labels by (source, id).

    Empty when the file is absent, so an installed package without tests still trains.
    """
    p = Path(path) if path else gold2_path()
    if not p.exists():
        return [], {}
    rows: list[GoldRow] = []
    sentiment: dict[tuple[str, str], str] = {}
    with p.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            rows.append(GoldRow(r["source"], r["id"], r["text"], r["intent"], r["journey_stage"], r["split"]))
            sentiment[(r["source"], r["id"])] = r["sentiment"]
    return rows, sentiment


# Round 5 (docs/annotation.md): training rows only (`split` = train on every row), so the held-out parts of the
# first two files stay the same frozen test as before; read with the round-4 loader.
def gold3_path() -> Path:
    return repo_root() / "tests" / "data" / "gold_intent_journey_3.csv"


def load_gold3(path: str | Path | None = None) -> tuple[list[GoldRow], dict[tuple[str, str], str]]:
    """Round-5 gold rows (all `train`) and their sentiment labels; empty when the file is absent."""
    return load_gold2(path or gold3_path())


def gold4_path() -> Path:
    return repo_root() / "tests" / "data" / "gold_intent_journey_4.csv"


def load_gold4(path: str | Path | None = None) -> tuple[list[GoldRow], dict[tuple[str, str], str]]:
    """Round-6 gold rows (all `train`) and their sentiment labels; empty when the file is absent."""
    return load_gold2(path or gold4_path())


def agreement_path() -> Path:
    return repo_root() / "tests" / "data" / "gold_agreement_b.csv"


def load_agreement(path: str | Path | None = None) -> dict[tuple[str, str], tuple[str, str]]:
    """A second annotator's blind (intent, journey stage) for the held-out gold rows, by (source, id)."""
    p = Path(path) if path else agreement_path()
    if not p.exists():
        return {}
    with p.open(encoding="utf-8", newline="") as fh:
        return {(r["source"], r["id"]): (r["intent"], r["journey_stage"]) for r in csv.DictReader(fh)}

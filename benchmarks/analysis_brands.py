"""Issue 19 items 2-5 for the fast tier: topics that fit the brand, language detection, emoji-only text.

Called by `benchmarks/analysis.py` (`brand_figures`), which writes the keys into analysis.json:

- `topic_airline_share_non_airline`: of the hand-labelled complaints to brands that are not airlines
  (TWCS rows of every gold file, brand read from the first @handle: numeric, anonymised handles and
  airline handles are left out), the share given an airline topic when labelled as `classify` and
  ingest label them (no brand context / the brand's industry unknown: the general taxonomy).
  `..._before` is the same share with every brand treated as an airline, i.e. the old engine.
- `general_topic_accuracy_airline_mapped`: the general taxonomy on airline *test* complaints whose
  crowd reason maps onto a general cause (late flight -> waiting time, ...): a sanity check of the
  taxonomy on data it was not trained on (only the train and dev splits were).
- `language_texts_per_s`: the language detector alone, CPU time, one thread.
- `emoji_only_sentiment_accuracy`: a fixed list of emoji-only tweets with an obvious sentiment.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from sklearn.metrics import accuracy_score

from hubbub.analysis import data
from hubbub.analysis.features import normalise
from hubbub.analysis.general_topics import AIRLINE_TOPIC, GENERAL_TOPICS
from hubbub.analysis.language import detect_languages
from hubbub.analysis.model import HubbubModel
from hubbub.analysis.topics import DEFAULT_TOPICS
from hubbub.analysis.types import AnalysisContext

AIRLINE_HANDLES = re.compile(
    r"^@(americanair|delta|british_airways|southwestair|virginatlantic|alaskaair|jetblue|united|aircanada|"
    r"airasiasupport|spiritairlines|hawaiianair|usairways|virginamerica)$",
    re.I,
)
EMOJI_ONLY = (
    ("@Verizon 😡😡😡", "negative"),
    ("@AmazonHelp 🤬", "negative"),
    ("@Uber 👎👎", "negative"),
    ("@Comcast 😤😤 🙄", "negative"),
    ("@Tesco 💔", "negative"),
    ("@Spotify 😍😍", "positive"),
    ("@Delta 🙌🙌🙌", "positive"),
    ("@Chipotle ❤️❤️", "positive"),
    ("@AppleSupport 👍", "positive"),
    ("@Netflix 🎉🥳", "positive"),
)


def _brand_handle(text: str) -> str:
    """The first named (non-numeric) @handle of a tweet, or ""."""
    return next((h for h in re.findall(r"@\w+", text) if not h[1:].isdigit()), "")


def non_airline_complaints() -> list[str]:
    gold = data.load_gold() + data.load_gold2()[0] + data.load_gold3()[0] + data.load_gold4()[0]
    out = []
    for g in gold:
        handle = _brand_handle(g.text)
        if g.source.startswith("twcs") and g.intent == "complaint" and handle and not AIRLINE_HANDLES.match(handle):
            out.append(g.text)
    return out


def brand_figures(ddir: Path, model: HubbubModel, res: dict[str, Any]) -> None:
    texts = non_airline_complaints()
    airline = set(DEFAULT_TOPICS)
    now = model.analyze_batch(texts)
    before = model.analyze_batch(texts, [AnalysisContext(industry="airline")] * len(texts))
    with_topic = [a for a in now if a.topic]
    res["topic_non_airline_n"] = len(texts)
    res["topic_airline_share_non_airline"] = round(sum(a.topic in airline for a in now) / len(texts), 4)
    res["topic_airline_share_non_airline_before"] = round(sum(a.topic in airline for a in before) / len(texts), 4)
    res["topic_general_distribution_non_airline"] = {
        t: sum(a.topic == t for a in with_topic) for t in (*GENERAL_TOPICS, "other")
    }

    test = [r for r in data.load_airline(ddir) if r.split == "test" and r.topic in AIRLINE_TOPIC]
    got = model.analyze_batch([r.text for r in test])  # no context: the general taxonomy
    scored = [(AIRLINE_TOPIC[r.topic], a.topic) for r, a in zip(test, got, strict=True) if a.topic]
    res["general_topic_accuracy_airline_mapped"] = round(accuracy_score(*zip(*scored, strict=True)), 4)
    res["general_topic_airline_mapped_n"] = len(scored)

    norm = [normalise(r.text) for r in data.load_airline(ddir)][:10000]
    detect_languages(norm[:100])
    start = time.process_time()
    detect_languages(norm)
    res["language_texts_per_s"] = round(len(norm) / (time.process_time() - start), 1)

    emoji = model.analyze_batch([t for t, _ in EMOJI_ONLY])
    res["emoji_only_sentiment_accuracy"] = round(
        accuracy_score([s for _, s in EMOJI_ONLY], [a.sentiment for a in emoji]), 4
    )


def print_brand_figures(res: dict[str, Any]) -> None:
    for k in (
        "topic_airline_share_non_airline",
        "topic_airline_share_non_airline_before",
        "topic_non_airline_n",
        "general_topic_accuracy_airline_mapped",
        "language_texts_per_s",
        "emoji_only_sentiment_accuracy",
    ):
        print(f"{k:<40}{res[k]:>10}")
    print("general topics of non-airline complaints:", res["topic_general_distribution_non_airline"])
    for name in ("journey", "intent"):
        cm = res["confusion"][name]
        labels = cm["labels"]
        print(f"\n{cm['title']} (rows true, columns predicted)")
        print(" " * 13 + "".join(f"{lab[:10]:>11}" for lab in labels))
        for lab, row in zip(labels, cm["matrix"], strict=True):
            print(f"{lab[:12]:<13}" + "".join(f"{n:>11}" for n in row))

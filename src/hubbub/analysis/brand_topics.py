"""Brands' own topic lists (the Django shell around `topics.TopicModel.from_examples`).

- `topic_contexts`: what ingest and re-analysis pass the engine per brand (industry, own topic model),
  one query per batch; a brand's model is rebuilt only when its topics changed (count or last edit).
- `save_brand_topics`: the Settings form's write, with its audit entry.
- `evaluate_brand_topics`: how each topic fares on the topic corrections agents made for that brand.

The text format of the Settings form is `parse_topics_text` / `format_topics_text`: a line starting with
"#" names a topic, the lines under it are its example posts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Count, Max

from hubbub.analysis.general_topics import GENERAL_TOPICS
from hubbub.analysis.models import BrandTopic, LabelCorrection
from hubbub.analysis.services import get_analyzer
from hubbub.analysis.types import DEFAULT_TOPICS, UNKNOWN_TOPIC
from hubbub.tenancy.models import Brand, Industry
from hubbub.tenancy.scoping import Scope
from hubbub.tenancy.services import audit

if TYPE_CHECKING:
    from hubbub.analysis.topics import TopicModel  # scikit-learn: imported when a brand's model is built

MAX_TOPICS = 40
MAX_EXAMPLES = 30
_lock = threading.Lock()
_cache: dict[int, tuple[tuple[int, datetime | None], TopicModel]] = {}


class TopicsError(ValueError):
    """What is wrong with a topic list as typed in Settings (shown to the admin as it is)."""


def _build(brand_id: int) -> TopicModel:
    from hubbub.analysis.topics import TopicModel  # scikit-learn, scipy: not on every page that names topics

    examples = {t.name: [str(e) for e in t.examples] for t in BrandTopic.objects.filter(brand_id=brand_id)}
    featurizer = getattr(get_analyzer(), "featurizer", None)  # the VADER baseline has no word vectors
    return TopicModel.from_examples(
        examples, shared_vectorizer=featurizer.word if featurizer is not None else None, kind="nearest"
    )


def brand_topic_models(brand_ids: Iterable[int]) -> dict[int, TopicModel]:
    """The own topic model of each brand in `brand_ids` that defined topics."""
    stamps = {
        row["brand_id"]: (row["n"], row["t"])
        for row in BrandTopic.objects.filter(brand_id__in=set(brand_ids))
        .values("brand_id")
        .annotate(n=Count("id"), t=Max("updated_at"))
    }
    out: dict[int, TopicModel] = {}
    for brand_id, stamp in stamps.items():
        with _lock:
            hit = _cache.get(brand_id)
        if hit is None or hit[0] != stamp:
            hit = (stamp, _build(brand_id))
            with _lock:
                _cache[brand_id] = hit
        out[brand_id] = hit[1]
    return out


def topic_contexts(brands: Iterable[Brand]) -> dict[int, tuple[str, TopicModel | None]]:
    """(industry, own topic model or None) per brand id, for `AnalysisContext(industry=..., topics=...)`."""
    brands = list(brands)
    own = brand_topic_models(b.pk for b in brands)
    return {b.pk: (b.industry, own.get(b.pk)) for b in brands}


def default_topic_names(industry: str) -> tuple[str, ...]:
    """The topics a brand of `industry` gets without its own: the airline preset or the general taxonomy."""
    return DEFAULT_TOPICS if industry == Industry.AIRLINE else GENERAL_TOPICS


def topic_names(brand: Brand | None) -> tuple[str, ...]:
    """The topics a brand's complaints can get (the choices of the correction form); None: every built-in one."""
    if brand is None:
        return GENERAL_TOPICS + DEFAULT_TOPICS
    own = tuple(BrandTopic.objects.filter(brand=brand).values_list("name", flat=True))
    return own or default_topic_names(brand.industry)


def parse_topics_text(text: str) -> dict[str, list[str]]:
    """{"topic": [examples]} from the Settings text: "# topic" lines, each followed by its example posts."""
    topics: dict[str, list[str]] = {}
    current: str | None = None
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            current = line.lstrip("#").strip()[:60]
            if not current:
                raise TopicsError(f"line {n}: a topic needs a name after '#'")
            if current.lower() == UNKNOWN_TOPIC:
                raise TopicsError(f"line {n}: '{UNKNOWN_TOPIC}' is what an unmatched complaint gets; pick another name")
            topics.setdefault(current, [])
        elif current is None:
            raise TopicsError(f"line {n}: start with a '# topic name' line, then its example posts")
        elif len(topics[current]) < MAX_EXAMPLES:
            topics[current].append(line[:500])
    empty = [t for t, ex in topics.items() if not ex]
    if empty:
        raise TopicsError(f"give each topic at least one example post (none under: {', '.join(empty)})")
    if len(topics) > MAX_TOPICS:
        raise TopicsError(f"at most {MAX_TOPICS} topics per brand")
    return topics


def format_topics_text(brand: Brand) -> str:
    return "\n\n".join(
        "# " + t.name + "\n" + "\n".join(str(e) for e in t.examples) for t in BrandTopic.objects.filter(brand=brand)
    )


@transaction.atomic
def save_brand_topics(scope: Scope, brand: Brand, industry: str, topics: dict[str, list[str]]) -> None:
    """Replace a brand's industry and topic list (an empty list: back to the industry's default topics)."""
    if industry not in Industry.values and industry != "":
        raise TopicsError(f"unknown industry {industry!r}")
    if brand.industry != industry:
        brand.industry = industry
        brand.save(update_fields=["industry"])
    BrandTopic.objects.filter(brand=brand).exclude(name__in=list(topics)).delete()
    for name, examples in topics.items():
        BrandTopic.objects.update_or_create(
            brand=brand, name=name, defaults={"organization_id": brand.organization_id, "examples": examples}
        )
    audit(scope.organization_id, scope.user, "brand.topics_changed", brand, industry=industry, topics=sorted(topics))


def evaluate_brand_topics(brand: Brand) -> list[dict[str, Any]]:
    """Per topic of the brand's own list: on the messages whose topic an agent set (the latest correction
    of each message), how many the examples label the same way (recall) and how many of the messages the
    examples put in that topic the agent agreed with (precision). Rows with no correction show n = 0."""
    models = brand_topic_models([brand.pk])
    if brand.pk not in models:
        return []
    tm = models[brand.pk]
    latest: dict[int, tuple[str, str]] = {}
    corrections = LabelCorrection.objects.filter(message__brand=brand, label_name="topic").order_by("created_at", "id")
    for message_id, text, value in corrections.values_list("message_id", "message__text", "new_value"):
        latest[message_id] = (text, value)
    truth = [v for _, v in latest.values()]
    predicted = [t for t, _, _ in tm.predict([t for t, _ in latest.values()])] if latest else []
    out = []
    for name in tm.topics:
        n = sum(1 for v in truth if v == name)
        hit = sum(1 for v, p in zip(truth, predicted, strict=True) if v == name and p == name)
        said = sum(1 for p in predicted if p == name)
        out.append(
            {
                "topic": name,
                "n": n,
                "recall": hit / n if n else None,
                "precision": hit / said if said else None,
                "examples": next((len(t.examples) for t in BrandTopic.objects.filter(brand=brand, name=name)), 0),
            }
        )
    return out

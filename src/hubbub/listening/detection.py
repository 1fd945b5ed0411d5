"""Crisis detection in the running system.

A periodic task (`tasks.run_detectors_task`, every minute) calls
`run_detection()`: it reads inbound messages stored since a per-organisation
watermark and feeds them, in time order, into long-lived `CrisisDetector`
instances kept in this process (one per brand, configured from the brand's
`AlertRule`). A detector that is new to this process (worker start, changed
rule) is warm-started from the minute rollups before the first new message,
so a restart does not mean a blind day. Streams: the brand itself and
each of its listening queries (key `q<id>`).

Alerts are stored with what was seen (message, expected vs observed, example
posts), de-duplicated against stored alerts (same brand, kind and key within
the detector's clear time, so a second worker or a restart does not repeat
one), rate-limited per rule, and sent in-app (live event), by email and to a
Slack-compatible webhook.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max

from hubbub import live
from hubbub.api.webhook_events import emit
from hubbub.inbox.models import Direction, Message
from hubbub.listening.detectors import Alert as DetectedAlert
from hubbub.listening.detectors import CrisisDetector, DetectorConfig
from hubbub.listening.models import (
    Alert,
    AlertRule,
    DetectorState,
    DetectorWatermark,
    Grain,
    ListeningQuery,
    MentionRollup,
)
from hubbub.listening.services import compiled_queries, rule_for
from hubbub.outbound_http import OutboundError, outbound_client
from hubbub.tenancy.models import Brand, Organization

log = logging.getLogger("hubbub.listening")

MAX_MESSAGES_PER_RUN = 50_000
WARM_START_HOURS = 24
# only mentions written this recently may alert; older ones (a history replay, an import) only train
LIVE_WINDOW = timedelta(minutes=15)
WEBHOOK_TIMEOUT = 5.0
WEBHOOK_MAX_BYTES = 64 * 1024  # a chat webhook answers "ok"; nothing we read is larger


@dataclass
class _Slot:
    signature: tuple[Any, ...]
    detector: CrisisDetector
    last_ts: float = 0.0


@dataclass
class DetectionResult:
    messages: int = 0
    alerts: list[Alert] = field(default_factory=list)
    suppressed: int = 0


_lock = threading.Lock()
_slots: dict[tuple[int, int], _Slot] = {}


def reset_detectors() -> None:
    """Forget every in-process detector (tests; a rule change does this per brand by itself)."""
    with _lock:
        _slots.clear()


def config_for(rule: AlertRule | None, brand: Brand) -> DetectorConfig:
    """Detector knobs from an alert rule (defaults without one)."""
    cfg = DetectorConfig()
    if brand.hashtags:
        cfg.hashtags = {str(brand.pk): list(brand.hashtags)}
    if rule is None:
        return cfg
    cfg.sensitivity = max(rule.sensitivity, 0.05)
    cfg.cusum_min_volume = max(int(rule.min_volume), 1)
    cfg.min_volume = max(cfg.min_volume, cfg.cusum_min_volume)  # the windows keep their own, higher floor
    cfg.max_alerts_per_hour = max(int(rule.max_alerts_per_hour), 1)
    cfg.tz_offset_minutes = rule.tz_offset_minutes
    if rule.quiet_start is not None and rule.quiet_end is not None:
        cfg.quiet_hours = (int(rule.quiet_start), int(rule.quiet_end))
        cfg.quiet_mode = rule.quiet_mode if rule.quiet_mode in ("defer", "suppress") else "defer"
    if rule.kinds:
        cfg.enabled_kinds = tuple(rule.kinds)
    return cfg


def _signature(rule: AlertRule | None, brand: Brand) -> tuple[Any, ...]:
    if rule is None:
        return (None, tuple(brand.hashtags or ()))
    return (
        rule.pk,
        rule.sensitivity,
        rule.min_volume,
        rule.max_alerts_per_hour,
        rule.tz_offset_minutes,
        rule.quiet_start,
        rule.quiet_end,
        rule.quiet_mode,
        tuple(rule.kinds or ()),
        tuple(brand.hashtags or ()),
    )


def _warm_start(det: CrisisDetector, brand_id: int, before: datetime) -> None:
    """Replay the minute rollups of the hours before `before` so the baseline is known at once.

    Each minute's counts become that many mentions in the middle of the minute
    (negative, or neutral for the rest); alerts raised while warming are dropped.
    """
    start = before - timedelta(hours=WARM_START_HOURS)
    rows = MentionRollup.objects.filter(
        brand_id=brand_id, grain=Grain.MINUTE, bucket__gte=start, bucket__lt=before
    ).order_by("bucket")
    name = str(brand_id)
    obs = det.observe
    for bucket, total, negative in rows.values_list("bucket", "total", "negative"):
        ts = bucket.timestamp() + 30.0
        for _ in range(negative):
            obs(ts, name, "negative")
        for _ in range(max(total - negative, 0)):
            obs(ts, name, "neutral")
    det.flush()
    det.suppressed = 0
    first = _history_start(brand_id)
    if first is not None:
        det.note_history_start(name, first.timestamp())


def _history_start(brand_id: int) -> datetime | None:
    """When the brand's first mention was counted (to the minute where minute rollups still go back that far).

    The learning period runs from the first mention; the warm start replays only the last day, so without
    this a restarted worker would have a long-known brand learn again."""
    rollups = MentionRollup.objects.filter(brand_id=brand_id)
    hour = rollups.filter(grain=Grain.HOUR).order_by("bucket").values_list("bucket", flat=True).first()
    if hour is None:
        return None
    minute = (
        rollups.filter(grain=Grain.MINUTE, bucket__gte=hour, bucket__lt=hour + timedelta(hours=1))
        .order_by("bucket")
        .values_list("bucket", flat=True)
        .first()
    )
    return minute or hour


def _detector(org_id: int, brand: Brand, rule: AlertRule | None, first_new: datetime) -> _Slot:
    """The brand's detector in this process: kept, else restored from its stored state, else warm-started."""
    sig = _signature(rule, brand)
    key = (org_id, brand.pk)
    with _lock:
        slot = _slots.get(key)
        if slot is not None and slot.signature == sig:
            return slot
    det = CrisisDetector(config_for(rule, brand))
    stored = DetectorState.objects.filter(brand_id=brand.pk).values_list("state", flat=True).first()
    if stored:
        det.import_state(str(brand.pk), stored)
    else:
        _warm_start(det, brand.pk, first_new.replace(second=0, microsecond=0))
    slot = _Slot(sig, det)
    with _lock:
        _slots[key] = slot
    return slot


def run_detection(organization_id: int | None = None, now: datetime | None = None) -> DetectionResult:
    """Feed every organisation's new inbound messages into its detectors; store and send the alerts."""
    result = DetectionResult()
    # every organisation, not DISTINCT over the messages (a scan of millions every minute);
    # an organisation with nothing new costs one primary-key range probe
    orgs = (
        [organization_id]
        if organization_id is not None
        else list(Organization.objects.order_by("id").values_list("id", flat=True))
    )
    for org_id in orgs:
        r = _run_org(org_id, now)
        result.messages += r.messages
        result.alerts.extend(r.alerts)
        result.suppressed += r.suppressed
    return result


def _run_org(org_id: int, now: datetime | None) -> DetectionResult:
    result = DetectionResult()
    wm, _ = DetectorWatermark.objects.get_or_create(organization_id=org_id)
    rows = list(
        Message.objects.filter(organization_id=org_id, id__gt=wm.last_message_id)
        .order_by("id")
        .values_list(
            "id",
            "brand_id",
            "created_at",
            "direction",
            "sentiment",
            "retweets",
            "text",
            "lang",
            "network",
            "author__followers",
        )[:MAX_MESSAGES_PER_RUN]
    )
    if not rows:
        return result
    last_id = rows[-1][0]
    inbound = [r for r in rows if r[3] == Direction.IN]
    inbound.sort(key=lambda r: (r[2], r[0]))
    brands = {b.pk: b for b in Brand.objects.filter(organization_id=org_id)}
    queries = compiled_queries(org_id)
    query_names = dict(ListeningQuery.objects.filter(id__in=[q.id for q in queries]).values_list("id", "name"))
    now_ts = (now or datetime.now(UTC)).timestamp()
    rules: dict[int, AlertRule | None] = {}
    slots: dict[int, _Slot] = {}
    detected: list[tuple[int, DetectedAlert]] = []
    for _id, brand_id, created_at, _d, sentiment, retweets, text, lang, network, followers in inbound:
        brand = brands.get(brand_id)
        if brand is None:
            continue
        slot = slots.get(brand_id)
        if slot is None:
            if brand_id not in rules:
                rules[brand_id] = rule_for(org_id, brand_id)
            slot = slots[brand_id] = _detector(org_id, brand, rules[brand_id], created_at)
            slot.detector.live_after = now_ts - LIVE_WINDOW.total_seconds()
        ts = created_at.timestamp()
        slot.last_ts = max(slot.last_ts, ts)
        name = str(brand_id)
        s = sentiment or "neutral"
        for a in slot.detector.observe(ts, name, s, retweets or 0, followers or 0, text):
            detected.append((brand_id, a))
        if queries:
            low = text.lower()
            lg = (lang or "").lower()
            net = (network or "").lower()
            for cq in queries:
                if cq.query._pred(low, lg, net):
                    for a in slot.detector.observe(ts, name, s, 0, 0, text, key=f"q{cq.id}"):
                        if a.kind in ("negative_spike", "sentiment_drop"):
                            detected.append((brand_id, a))
    for brand_id, slot in slots.items():
        for a in slot.detector.flush(max(now_ts, slot.last_ts)):
            detected.append((brand_id, a))
        result.suppressed += slot.detector.suppressed
        slot.detector.suppressed = 0
    stored: list[Alert] = []
    with transaction.atomic():
        for brand_id, a in detected:
            row = _store(org_id, brands[brand_id], rules.get(brand_id), a, query_names)
            if row is not None:
                stored.append(row)
        DetectorWatermark.objects.filter(pk=wm.pk).update(last_message_id=last_id)
        _save_states(org_id, slots)
    result.messages = len(inbound)
    for row in stored:
        notify(row)
    result.alerts = stored
    return result


def _save_states(org_id: int, slots: dict[int, _Slot]) -> None:
    """Persist what each fed brand's detector has learnt: one row per brand per run."""
    for brand_id, slot in slots.items():
        state = slot.detector.export_state().get(str(brand_id), {})
        DetectorState.objects.update_or_create(brand_id=brand_id, defaults={"organization_id": org_id, "state": state})


def _store(
    org_id: int, brand: Brand, rule: AlertRule | None, a: DetectedAlert, query_names: dict[int, str]
) -> Alert | None:
    """Keep an alert unless it repeats a stored one or the rule's hourly budget is spent."""
    detected_at = datetime.fromtimestamp(a.detected_at, UTC)
    query_id = None
    key = a.key
    if key.startswith("q") and key[1:].isdigit():
        query_id = int(key[1:])
    dedupe_window = timedelta(minutes=DetectorConfig().clear_minutes)
    recent = Alert.objects.filter(organization_id=org_id, brand=brand)
    if a.kind != "viral_post":
        if recent.filter(
            kind=a.kind,
            key=key,
            detected_at__gt=detected_at - dedupe_window,
            detected_at__lte=detected_at + dedupe_window,
        ).exists():
            return None
    else:
        example = a.examples[0] if a.examples else ""
        if recent.filter(kind=a.kind, examples__0=example).exists() if example else False:
            return None
    budget = rule.max_alerts_per_hour if rule is not None else DetectorConfig().max_alerts_per_hour
    if recent.filter(detected_at__gt=detected_at - timedelta(hours=1), detected_at__lte=detected_at).count() >= budget:
        return None
    message = a.message
    if query_id is not None:
        message = f"[{query_names.get(query_id, 'query')}] {message}"
    return Alert.objects.create(
        organization_id=org_id,
        brand=brand,
        query_id=query_id if query_id in query_names else None,
        rule=rule,
        kind=a.kind,
        key=key[:120],
        detected_at=detected_at,
        window_start=datetime.fromtimestamp(a.window_start, UTC),
        expected=a.expected,
        observed=a.observed,
        score=a.score,
        message=message[:2000],
        examples=[e[:500] for e in a.examples[:3]],
        terms=[t[:60] for t in a.terms[:5]],
    )


def alert_text(alert: Alert) -> str:
    """The plain-text body used by email and the webhook."""
    lines = [
        f"{alert.brand.name}: {alert.message}",
        f"kind {alert.kind}; expected {alert.expected:.1f}, observed {alert.observed:.1f}; "
        f"building for {alert.building_minutes} min (since {alert.window_start:%Y-%m-%d %H:%M} UTC), "
        f"detected {alert.detected_at:%Y-%m-%d %H:%M} UTC",
    ]
    if alert.terms:
        lines.append("top terms: " + ", ".join(alert.terms))
    for e in alert.examples[:3]:
        lines.append(f"> {e}")
    base = getattr(settings, "HUBBUB_BASE_URL", "")
    if base:
        lines.append(f"{base.rstrip('/')}/listening/alerts/")
    return "\n".join(lines)


def notify(alert: Alert) -> dict[str, str]:
    """Send an alert in-app (live event), by email and to the rule's webhook; record how each went.

    Failures are recorded on the alert, never raised: one dead webhook must not
    stop the other channels or the next alerts.
    """
    status: dict[str, str] = {}
    live.publish(
        "alert",
        alert.organization_id,
        alert_id=alert.pk,
        alert_kind=alert.kind,
        brand_id=alert.brand_id,
        brand=alert.brand.name,
        message=alert.message,
    )
    status["in_app"] = "ok"
    emit(alert.organization_id, "alert.raised", {"alert": alert_data(alert)})  # integrators' webhooks
    rule = alert.rule
    text = alert_text(alert)
    if rule is not None and rule.email_to:
        try:
            send_mail(
                subject=f"[Hubbub] {alert.brand.name}: {alert.kind.replace('_', ' ')}",
                message=text,
                from_email=None,
                recipient_list=list(rule.email_to),
            )
            status["email"] = "ok"
        except Exception as exc:  # SMTP errors vary by server
            log.warning("alert email failed: %s", exc)
            status["email"] = f"error: {exc}"[:200]
    if rule is not None and rule.webhook_url:
        status["webhook"] = post_webhook(rule.webhook_url, {"text": text})
    Alert.objects.filter(pk=alert.pk).update(notified=status)
    alert.notified = status
    return status


def alert_data(a: Alert) -> dict[str, Any]:
    """An alert as integrators read it: the `alert.raised` webhook's `data.alert`, and the API's alerts."""
    return {
        "id": a.pk,
        "brand_id": a.brand_id,
        "query_id": a.query_id,
        "kind": a.kind,
        "key": a.key,
        "detected_at": a.detected_at.isoformat(),
        "window_start": a.window_start.isoformat(),
        "expected": a.expected,
        "observed": a.observed,
        "score": a.score,
        "message": a.message,
        "examples": list(a.examples),
        "terms": list(a.terms),
        "building_minutes": a.building_minutes,
    }


def post_webhook(url: str, payload: dict[str, Any]) -> str:
    """POST the alert through the outbound client; the outcome kept on the alert and shown in the API.

    Only "delivered" or a short class ("failed: HTTP 502", "failed: timed out", "refused: address not
    allowed"): never the receiver's body or the socket error, which would turn the alert API into a way to
    probe what answers where.
    """
    try:
        with outbound_client(timeout=WEBHOOK_TIMEOUT, max_bytes=WEBHOOK_MAX_BYTES) as client:
            r = client.post(url, json=payload)
    except OutboundError as exc:
        log.warning("alert webhook failed: %s", exc)
        return exc.outcome
    return "delivered" if r.status_code < 300 else f"failed: HTTP {r.status_code}"


def latest_message_id(org_id: int) -> int:
    return int(Message.objects.filter(organization_id=org_id).aggregate(m=Max("id"))["m"] or 0)


__all__ = ["DetectionResult", "config_for", "notify", "post_webhook", "reset_detectors", "run_detection"]

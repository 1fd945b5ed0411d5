"""Survey import: `hubbub import surveys FILE` reads a CSAT/NPS export into `SurveyResponse` rows.

Survey tools name their columns as they like ("Response ID", "How likely are you to recommend us
(0-10)", "Verbatim", "Submitted At"), so columns are found by aliases, case- and spacing-insensitive
(`COLUMNS`). The file is read with the rules of every other import (`hubbub.textfiles`: Windows-1252
and UTF-16 exports, `;` or tab between columns), in chunks of `CHUNK` rows, one transaction each.

Bad rows (no score, a score outside the scale, a date that cannot be read, an unknown brand) are
quarantined with their reason, exactly like the CRM imports; a comment longer than `MAX_COMMENT`
is cut, the row flagged and the full row kept in quarantine. Re-importing a file updates the rows
it imported before: the key is the response id, or a hash of the row when the file has none.
Comments are labelled by `hubbub.analysis.services.analyze_batch`, once per chunk, and only when
new or changed.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import chain, islice
from pathlib import Path
from typing import Any, BinaryIO

from django.db import transaction
from django.db.models import F
from django.utils.text import slugify

from hubbub import textfiles, upload_limits
from hubbub.analysis.services import analyze_batch
from hubbub.analysis.types import AnalysisContext
from hubbub.crm import matching
from hubbub.crm.models import Customer
from hubbub.dates import parse_datetime
from hubbub.importreport import ImportReport
from hubbub.insights.models import Scale, SurveyResponse
from hubbub.tenancy.models import Brand, Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit

CHUNK = 2000
MAX_COMMENT = 5000
#: The web upload imports while the user waits; larger files go through `hubbub import surveys`.
UPLOAD_MAX_BYTES = 5 * 1024 * 1024
SOURCE = "import:surveys"

#: field → accepted column names (compared case-insensitively, spaces and hyphens read as "_").
COLUMNS: dict[str, list[str]] = {
    "score": ["score", "rating", "csat", "nps", "satisfaction", "likelihood_to_recommend"],
    "comment": ["comment", "text", "feedback", "verbatim", "response"],
    "submitted_at": ["submitted_at", "date", "created_at", "timestamp"],
    "external_id": ["response_id", "respondent_id", "id"],
    "email": ["email", "customer_email"],
    "customer_id": ["customer_id", "external_id"],
    "brand": ["brand"],
    "channel": ["channel"],
}
REQUIRED = ("score", "submitted_at")
#: The fixed scales; "other" keeps the bounds the file (or `--scale MIN-MAX`) gives.
SCALES: dict[str, tuple[Decimal, Decimal]] = {
    Scale.CSAT: (Decimal(1), Decimal(5)),
    Scale.NPS: (Decimal(0), Decimal(10)),
}
#: Survey exports come from tools set up in Europe as often as in the US: an ambiguous `01/03/2026` is
#: read as 1 March (as before the one date parser, `hubbub.dates`); `31/12/2026` and `12/31/2026` read alike.
DAY_FIRST = True


def _key(name: str) -> str:
    """A column name as compared: "Customer E-mail" → "customer_email", "Response ID" → "response_id"."""
    return re.sub(r"(^|_)e_mail", r"\1email", re.sub(r"[\s\-]+", "_", name.strip().casefold()))


def resolve_columns(header: list[str]) -> tuple[dict[str, str], list[str]]:
    """Field → column of this file, and the columns nothing reads (reported, not fatal).

    Exact alias names win over names that merely start with one ("NPS (0-10)" → score), and no
    column feeds two fields.
    """
    keys = [_key(h) for h in header]
    cols: dict[str, str] = {}
    for exact in (True, False):
        for field_name, aliases in COLUMNS.items():
            if field_name in cols:
                continue
            for alias in aliases:
                if exact:
                    i = textfiles.find_column(keys, alias)
                else:
                    i = next((n for n, k in enumerate(keys) if re.match(rf"{alias}(?![a-z0-9])", k)), None)
                if i is not None and header[i] not in cols.values():
                    cols[field_name] = header[i]
                    break
    unknown = [h for h in header if h not in cols.values() and h.strip()]
    return cols, unknown


@dataclass(frozen=True)
class ScaleSpec:
    kind: str
    low: Decimal
    high: Decimal

    def label(self) -> str:
        return f"{self.kind} {self.low:g}–{self.high:g}"


def parse_scale(value: str) -> ScaleSpec:
    """`csat`, `nps` or `MIN-MAX` (another scale, e.g. `1-7` or `0-100`): the `--scale` option."""
    v = (value or "").strip().lower()
    if v in SCALES:
        return ScaleSpec(v, *SCALES[v])
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*(?:-|–|\.\.|to)\s*(-?\d+(?:\.\d+)?)", v)
    if m and Decimal(m[1]) < Decimal(m[2]):
        return ScaleSpec(Scale.OTHER, Decimal(m[1]), Decimal(m[2]))
    raise ValueError(f"unknown scale {value!r}; use csat, nps or MIN-MAX such as 1-7")


def scale_from_name(column: str) -> ScaleSpec | None:
    """The scale a column's name states: "NPS", "likelihood to recommend" → NPS; "CSAT", "satisfaction" → CSAT."""
    k = _key(column)
    if "nps" in k or "recommend" in k:
        return ScaleSpec(Scale.NPS, *SCALES[Scale.NPS])
    if "csat" in k or "satisf" in k:
        return ScaleSpec(Scale.CSAT, *SCALES[Scale.CSAT])
    return None


def scale_from_values(low: Decimal | None, high: Decimal | None) -> ScaleSpec:
    """For a neutral name ("score", "rating"): values within 1–5 are CSAT, within 0–10 (reaching 0 or 9) NPS,
    anything else a scale of its own from 1 (or its lowest value) to its highest value; `--scale` overrides."""
    if low is None or high is None:
        return ScaleSpec(Scale.CSAT, *SCALES[Scale.CSAT])
    if Decimal(1) <= low and high <= Decimal(5):
        return ScaleSpec(Scale.CSAT, *SCALES[Scale.CSAT])
    if Decimal(0) <= low and high <= Decimal(10) and (low == 0 or high >= 9):
        return ScaleSpec(Scale.NPS, *SCALES[Scale.NPS])
    return ScaleSpec(Scale.OTHER, min(low, Decimal(1)), high)


def parse_score(value: str) -> Decimal:
    """ "4", "4.5", "4,5", "9/10", "80%" → a number; ValueError otherwise."""
    v = (value or "").strip().replace("\u00a0", "").replace(" ", "")
    if not v:
        raise ValueError("no score")
    v = re.sub(r"(/\d+(?:[.,]\d+)?|%)$", "", v).replace(",", ".")
    try:
        d = Decimal(v)
    except InvalidOperation as exc:
        raise ValueError(f"score is not a number: {value[:40]!r}") from exc
    if not d.is_finite():
        raise ValueError(f"score is not a number: {value[:40]!r}")
    return d


def _row_id(v: dict[str, str]) -> str:
    """A stable key for a file without response ids: the same row imported again updates itself."""
    basis = "\x1f".join(v.get(f, "") for f in ("submitted_at", "email", "customer_id", "score", "comment", "brand"))
    return "h:" + hashlib.sha256(basis.encode()).hexdigest()[:40]


class _Brands:
    """Brand by slug or name (case-insensitive) in one organisation; the `--brand` default created if missing."""

    def __init__(self, org_id: int, default: str) -> None:
        self.org_id = org_id
        self.known: dict[str, Brand] = {}
        for b in Brand.objects.filter(organization_id=org_id):
            self.known[b.slug] = b
            self.known.setdefault(b.name.casefold(), b)
        self.default: Brand | None = None
        if default:
            self.default = self.get(default)
            if self.default is None:
                self.default, _ = Brand.objects.get_or_create(
                    organization_id=org_id,
                    slug=slugify(default)[:50] or "brand",
                    defaults={"name": default[:200], "handles": [default.replace(" ", "")]},
                )

    def get(self, name: str) -> Brand | None:
        return self.known.get(name.casefold()) or self.known.get(slugify(name))


def run(
    org_id: int,
    path: Path | str,
    *,
    brand: str = "",
    scale: str = "",
    on_progress: Callable[[int, int], None] | None = None,
    actor: Any = None,
    chunk_size: int = CHUNK,
) -> dict[str, Any]:
    """Import a survey export file (`hubbub import surveys FILE`, .gz too): `run_stream` on its bytes."""
    path = Path(path)
    with textfiles.open_binary(path) as raw:
        return run_stream(
            org_id,
            raw,
            path.name,
            brand=brand,
            scale=scale,
            on_progress=on_progress,
            actor=actor,
            chunk_size=chunk_size,
        )


def run_stream(
    org_id: int,
    raw: BinaryIO,
    name: str,
    *,
    brand: str = "",
    scale: str = "",
    on_progress: Callable[[int, int], None] | None = None,
    actor: Any = None,
    chunk_size: int = CHUNK,
) -> dict[str, Any]:
    """Import a survey export read from `raw`, a seekable binary stream (a file, an upload), named `name` in
    quarantine and the audit entry; returns the summary the CRM imports return (imported, updated, duplicates,
    rejected, unknown_columns, rejection_reasons) plus `read`, `truncated`, `linked`, `scale`.

    `brand` is the brand of rows whose file gives none (created if missing); `scale` overrides the scale read
    from the score column's name or values (`parse_scale`). When only the values can tell the scale, the stream
    is read once for the score range and once more (seek) to import — the stream itself, never a copy. A file
    without a score or a date column raises ValueError, as every row would be rejected.
    """
    forced = parse_scale(scale) if scale else None
    start = raw.tell()
    fh = textfiles.wrap(raw)
    lines = upload_limits.bounded_lines(textfiles.lines_without_nul(fh), first_line_number=1)
    first = next(lines, "")
    expected = [a for aliases in COLUMNS.values() for a in aliases]
    delimiter = textfiles.sniff_delimiter(first.replace(" ", "_").replace("-", "_"), expected)
    reader = csv.DictReader(chain([first], lines), delimiter=delimiter)
    header = list(reader.fieldnames or [])
    upload_limits.check_header(header)
    cols, unknown = resolve_columns(header)
    missing = [f for f in REQUIRED if f not in cols]
    if missing:
        wanted = "; ".join(f"{f}: {', '.join(COLUMNS[f])}" for f in missing)
        raise ValueError(f"{name}: no column for {' and '.join(missing)} (accepted names — {wanted})")
    spec = forced or scale_from_name(cols["score"])
    if spec is None:
        spec = _scale_from_values(reader, cols["score"])
        fh.detach()  # the same stream, from its start again: the wrapper lets go of it without closing it
        raw.seek(start)
        fh = textfiles.wrap(raw)
        reader = csv.DictReader(
            upload_limits.bounded_lines(textfiles.lines_without_nul(fh), first_line_number=1), delimiter=delimiter
        )
    brands = _Brands(org_id, brand)
    report = ImportReport(org_id, SOURCE, name)
    stats = {"truncated": 0, "linked": 0}
    seen: set[str] = set()
    rows = enumerate(reader, start=2)
    done = 0
    while chunk := list(islice(rows, chunk_size)):
        with transaction.atomic():
            _import_chunk(org_id, chunk, cols, spec, brands, report, seen, stats, name)
            report.flush()
        done += len(chunk)
        if on_progress:
            on_progress(done, 0)
    fh.detach()  # the caller owns `raw` and closes it
    counts = report.counts()
    summary: dict[str, Any] = {"read": done, **counts}
    summary |= {
        "truncated": stats["truncated"],
        "linked": stats["linked"],
        "scale": spec.label(),
        "unknown_columns": unknown,
        "rejection_reasons": counts["rejection_reasons"],
    }
    audit(
        org_id,
        actor,
        "insights.import.surveys",
        None,
        file=name,
        **{k: v for k, v in summary.items() if k != "rejection_reasons"},
    )
    return summary


def upload(
    scope: Scope, name: str, raw: BinaryIO, size: int, brand_id: int | None = None, scale: str = ""
) -> dict[str, Any]:
    """Import a survey file uploaded on the voice-of-the-customer page (analysts and up), as the CLI does, from
    the uploaded file object itself (`run_stream`; no temporary copy). `size` is its length in bytes.

    `brand_id` (one of the scope's brands) is the brand of rows that name none. ValueError says what is wrong
    with the file (too large, no score or date column).
    """
    require_role(scope, Role.ANALYST)
    if size > UPLOAD_MAX_BYTES:
        raise ValueError(
            f"The file is too large for the page ({size // 1024:,} KB; the limit is "
            f"{UPLOAD_MAX_BYTES // (1024 * 1024)} MB). Run “hubbub import surveys FILE” on the server."
        )
    brand = ""
    if brand_id is not None and brand_id in scope.brand_ids:
        brand = Brand.objects.get(pk=brand_id).slug
    safe_name = Path(name or "upload.csv").name[:200] or "upload.csv"
    try:
        return run_stream(scope.organization_id, raw, safe_name, brand=brand, scale=scale, actor=scope.user)
    except csv.Error as exc:  # a field past the limit, a broken quote: said on the page, not a server error
        raise upload_limits.csv_problem(exc) from exc


API_MAX_ROWS = 1000  # one POST; a larger export goes through the file import


def import_rows(
    scope: Scope, rows: list[dict[str, Any]], scale: str, brand_id: int | None = None, source: str = "api"
) -> dict[str, Any]:
    """Import survey responses sent as JSON objects (the REST API: a survey tool's webhook, an integration),
    through the same validation, quarantine, customer linking and idempotency as a file: `external_id` (or a
    hash of the row) is the key, so a re-sent response updates itself. Analysts and up.

    Keys are the field names (`score`, `submitted_at`, `comment`, `external_id`, `email`, `customer_id`,
    `brand`, `channel`); values may be strings or numbers; other keys are ignored. `scale` is required (`csat`,
    `nps` or `MIN-MAX`): one response cannot tell its scale. ValueError for an unknown scale or too many rows;
    bad rows are rejected one by one with their reasons (row numbers from 1), never the whole request.
    """
    require_role(scope, Role.ANALYST)
    if len(rows) > API_MAX_ROWS:
        raise ValueError(f"too many responses in one request ({len(rows):,}; the limit is {API_MAX_ROWS:,})")
    spec = parse_scale(scale)
    brand = ""
    if brand_id is not None:
        if brand_id not in scope.brand_ids:
            raise ValueError("unknown brand")
        brand = Brand.objects.get(pk=brand_id).slug
    report = ImportReport(scope.organization_id, SOURCE, source)
    stats = {"truncated": 0, "linked": 0}
    chunk: list[tuple[int, dict[str, Any]]] = []
    for n, row in enumerate(rows, start=1):
        as_text = {f: "" if row.get(f) is None else str(row.get(f)) for f in COLUMNS} if isinstance(row, dict) else {}
        if not any(as_text.values()):  # a file's blank line is skipped; a sent response is never dropped unseen
            report.reject(n, "no survey fields: expected score and submitted_at", {"value": str(row)[:500]})
            continue
        chunk.append((n, as_text))
    with transaction.atomic():
        _import_chunk(
            scope.organization_id,
            chunk,
            {f: f for f in COLUMNS},
            spec,
            _Brands(scope.organization_id, brand),
            report,
            set(),
            stats,
            source,
        )
        report.flush()
    counts = report.counts()
    summary: dict[str, Any] = {"read": len(rows), **counts, **stats, "scale": spec.label(), "errors": report.errors}
    audit(
        scope.organization_id,
        scope.user,
        "insights.import.surveys",
        None,
        file=source,
        **{k: v for k, v in summary.items() if k not in ("rejection_reasons", "errors")},
    )
    return summary


def _scale_from_values(reader: Iterable[dict[str, Any]], column: str) -> ScaleSpec:
    """The scale from the range of the scores (only when the column's name says nothing): a first pass."""
    low: Decimal | None = None
    high: Decimal | None = None
    for row in reader:
        try:
            d = parse_score(row.get(column) or "")
        except ValueError:
            continue
        low = d if low is None else min(low, d)
        high = d if high is None else max(high, d)
    return scale_from_values(low, high)


def _get(row: dict[str, Any], cols: dict[str, str], f: str) -> str:
    c = cols.get(f)
    value = row.get(c) if c else None
    return value.strip() if isinstance(value, str) else ""


def _import_chunk(
    org_id: int,
    chunk: list[tuple[int, dict[str, Any]]],
    cols: dict[str, str],
    spec: ScaleSpec,
    brands: _Brands,
    report: ImportReport,
    seen: set[str],
    stats: dict[str, int],
    file_name: str,
) -> None:
    """Check a chunk's rows (rejections and notes go to `report`), then save the good ones."""
    parsed = _parse_chunk(chunk, cols, spec, brands, report, seen, stats)
    if parsed:
        _save_parsed(org_id, parsed, spec, report, stats, file_name)


def _parse_chunk(
    chunk: list[tuple[int, dict[str, Any]]],
    cols: dict[str, str],
    spec: ScaleSpec,
    brands: _Brands,
    report: ImportReport,
    seen: set[str],
    stats: dict[str, int],
) -> list[dict[str, Any]]:
    """The chunk's valid, first-seen rows as SurveyResponse fields (with the `brand` object)."""
    parsed: list[dict[str, Any]] = []
    for line, row in chunk:
        v = {f: _get(row, cols, f) for f in COLUMNS}
        if not any(v.values()):
            continue  # a blank line of commas: nothing to keep or to lose
        try:
            score = parse_score(v["score"])
        except ValueError as exc:
            report.reject(line, str(exc), row)
            continue
        if not spec.low <= score <= spec.high:
            report.reject(line, f"score out of range: {score:g} is not on the {spec.label()} scale", row)
            continue
        try:
            submitted = parse_datetime(v["submitted_at"], day_first=DAY_FIRST)
        except ValueError as exc:
            report.reject(line, str(exc), row)
            continue
        brand = brands.get(v["brand"]) if v["brand"] else brands.default
        if v["brand"] and brand is None:
            report.reject(line, f"unknown brand: {v['brand'][:60]}", row)
            continue
        key = v["external_id"][:200] or _row_id(v)
        if key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        comment = v["comment"]
        truncated = len(comment) > MAX_COMMENT
        if truncated:
            comment = comment[:MAX_COMMENT]
            stats["truncated"] += 1
            report.note(line, f"comment cut to {MAX_COMMENT} characters", row)
        parsed.append(
            {
                "external_id": key,
                "submitted_at": submitted,
                "score": score,
                "brand": brand,
                "email": (matching.norm_email(v["email"]) or v["email"].lower())[:254],
                "customer_ref": v["customer_id"][:100],
                "channel": v["channel"][:60],
                "comment": comment,
                "comment_truncated": truncated,
            }
        )
    return parsed


def _save_parsed(
    org_id: int,
    parsed: list[dict[str, Any]],
    spec: ScaleSpec,
    report: ImportReport,
    stats: dict[str, int],
    file_name: str,
) -> None:
    """Create the new responses and update the ones already stored (by external id), linked to customers."""
    existing = _existing(org_id, [p["external_id"] for p in parsed])
    customers = _customers(org_id, parsed)
    _analyse(parsed, existing)
    new: list[SurveyResponse] = []
    changed: list[SurveyResponse] = []
    for p in parsed:
        r = existing.get(p["external_id"]) or SurveyResponse(organization_id=org_id, external_id=p["external_id"])
        brand = p.pop("brand")
        r.brand_id = brand.pk if brand is not None else None
        for name, value in p.items():
            if name != "analysis":
                setattr(r, name, value)
        r.scale, r.scale_min, r.scale_max = spec.kind, spec.low, spec.high
        customer = customers.get(("x", p["customer_ref"])) if p["customer_ref"] else None
        customer = customer or (customers.get(("e", p["email"])) if p["email"] else None)
        r.customer_id = customer.pk if customer is not None else None
        stats["linked"] += customer is not None
        r.source_file = file_name[:255]
        (changed if r.pk else new).append(r)
    if new:
        SurveyResponse.objects.bulk_create(new, batch_size=500)
    if changed:
        SurveyResponse.objects.bulk_update(changed, UPDATED_FIELDS, batch_size=500)
    report.imported += len(new)
    report.updated += len(changed)


UPDATED_FIELDS = [
    "brand",
    "submitted_at",
    "score",
    "scale",
    "scale_min",
    "scale_max",
    "customer",
    "email",
    "customer_ref",
    "channel",
    "comment",
    "comment_truncated",
    "sentiment",
    "sentiment_score",
    "intent",
    "topic",
    "model_version",
    "source_file",
]


def _existing(org_id: int, keys: list[str]) -> dict[str, SurveyResponse]:
    out: dict[str, SurveyResponse] = {}
    for i in range(0, len(keys), 900):
        for r in SurveyResponse.objects.filter(organization_id=org_id, external_id__in=keys[i : i + 900]):
            out[r.external_id] = r
    return out


def _customers(org_id: int, parsed: list[dict[str, Any]]) -> dict[tuple[str, str], Customer]:
    """The organisation's customers named by the rows, by CRM id ("x", id) and e-mail ("e", email).

    Read-only: merged customers resolve to the one they were merged into; erased ones are not linked.
    """
    base = Customer.objects.filter(organization_id=org_id, erased_at__isnull=True)
    refs = sorted({p["customer_ref"] for p in parsed if p["customer_ref"]})
    emails = sorted({p["email"] for p in parsed if p["email"] and "@" in p["email"]})
    out: dict[tuple[str, str], Customer] = {}
    for kind, field_name, values in (("x", "external_id", refs), ("e", "email", emails)):
        for i in range(0, len(values), 900):
            found = base.filter(**{f"{field_name}__in": values[i : i + 900]}).select_related("merged_into")
            for c in found.order_by(F("merged_into").asc(nulls_first=True), "id"):  # live customers first
                key = (kind, getattr(c, field_name) if kind == "x" else c.email.lower())
                out.setdefault(key, c.merged_into if c.merged_into is not None else c)
    return out


def _analyse(parsed: list[dict[str, Any]], existing: dict[str, SurveyResponse]) -> None:
    """Label new or changed comments in one `analyze_batch` call; unchanged ones keep their labels."""
    todo: list[dict[str, Any]] = []
    for p in parsed:
        old = existing.get(p["external_id"])
        if not p["comment"]:
            p.update(sentiment="", sentiment_score=0.0, intent="", topic="", model_version="")
        elif old is not None and old.comment == p["comment"] and old.model_version:
            p.update(
                sentiment=old.sentiment,
                sentiment_score=old.sentiment_score,
                intent=old.intent,
                topic=old.topic,
                model_version=old.model_version,
            )
        else:
            todo.append(p)
    if not todo:
        return
    contexts: list[AnalysisContext | None] = [
        AnalysisContext(brand=p["brand"].slug if p["brand"] is not None else "", network="survey") for p in todo
    ]
    for p, a in zip(todo, analyze_batch([p["comment"] for p in todo], contexts), strict=True):
        p.update(
            sentiment=a.sentiment,
            sentiment_score=float(a.sentiment_score),
            intent=a.intent[:20],
            topic=a.topic[:60],
            model_version=a.model_version[:60],
        )

"""The report of one file import: counts, rejection reasons, the rows kept in quarantine.

Why a module of its own: the CRM imports (`crm.importing`), the survey import (`insights.importing`) and the
mention imports (`ingest.importing`: airline, twcs, jsonl) return the same summary shape and quarantine bad
rows the same way (Settings → Quarantine, `file:line`). All build it from `ImportReport`; no app reaches into
another's private code for it.

The quarantine table belongs to `ingest`, which sits above every app that imports files, so this module never
imports it: a report keeps plain `Reject` records, and `flush` hands them to the sink that ingest registers in
its `AppConfig.ready` (`register_quarantine`). With no sink registered, flushing rejected rows fails loudly
rather than dropping them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

#: How many rejected rows a report keeps for the page (`errors`); all of them go to quarantine.
MAX_ERROR_ROWS = 200


@dataclass(frozen=True)
class Reject:
    """One row kept for the quarantine: where it came from, why it was not imported (as it was), what it held."""

    organization_id: int
    source: str
    location: str
    reason: str
    raw: str


#: Stores rejected rows in the quarantine, inside the caller's transaction (ingest registers it at start-up).
QuarantineSink = Callable[[Sequence[Reject]], None]
_sinks: list[QuarantineSink] = []


def register_quarantine(sink: QuarantineSink) -> None:
    if sink not in _sinks:
        _sinks.append(sink)


def quarantine(rejects: Sequence[Reject]) -> None:
    """Hand rejected rows to the quarantine; refuses (ImproperlyConfigured) when nothing would keep them."""
    if not rejects:
        return
    if not _sinks:
        raise ImproperlyConfigured("No quarantine is registered for rejected import rows: is hubbub.ingest installed?")
    for sink in _sinks:
        sink(rejects)


class ImportReport:
    """Counts of one import run, the rejected rows to quarantine and the first ones to show on a job page.

    `source` is the quarantine source (`import:customers`, `import:surveys`…), `name` the file name used in each
    entry's location. Quarantine entries are kept in memory until `flush`, which the importer calls inside each
    chunk's transaction, so a chunk's rows and its quarantine entries are committed together.
    """

    def __init__(self, org_id: int, source: str, name: str) -> None:
        self.org_id, self.source, self.name = org_id, source, name
        self.read = self.imported = self.updated = self.rejected = self.duplicates = 0
        #: Columns (or JSON fields) of the file that no field reads: reported, not fatal.
        self.unknown_columns: list[str] = []
        self.reasons: Counter[str] = Counter()
        self.quarantine: list[Reject] = []
        self.errors: list[dict[str, Any]] = []

    def reject(self, line: int, reason: str, row: Mapping[str, Any] | str) -> None:
        """Row `line` was not imported: counted under the reason's first part (before `:`) and quarantined."""
        self.rejected += 1
        self.reasons[reason.split(":")[0]] += 1
        if len(self.errors) < MAX_ERROR_ROWS:
            self.errors.append({"row": line, "reason": reason[:500]})
        self.note(line, reason, row)

    def note(self, line: int, reason: str, row: Mapping[str, Any] | str) -> None:
        """Keep row `line` in quarantine with `reason` without counting it rejected (e.g. imported but cut)."""
        self.quarantine.append(
            Reject(
                organization_id=self.org_id,
                source=self.source,
                location=f"{self.name}:{line}"[:200],
                reason=reason[:500],
                raw=str(row)[:20000],
            )
        )

    def flush(self) -> None:
        """Write the quarantine entries collected since the last flush."""
        if self.quarantine:
            quarantine(self.quarantine)
            self.quarantine = []

    def counts(self) -> dict[str, Any]:
        """The summary fields every import returns: imported, updated, rejected, duplicates, rejection_reasons."""
        return {
            "imported": self.imported,
            "updated": self.updated,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "rejection_reasons": dict(self.reasons),
        }

    def summary(self) -> dict[str, Any]:
        """What `hubbub import` prints (and `--json` dumps) for a file: rows read, the counts, unknown columns."""
        return {"read": self.read, **self.counts(), "unknown_columns": self.unknown_columns}

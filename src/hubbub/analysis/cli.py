"""`hubbub analysis train` and `hubbub classify`: the engine from the command line.

No Django here: `classify` must start fast and run on any machine with the
package installed. The lead registers `classify` as the top-level
`hubbub classify` command and mounts `analysis_app` as `hubbub analysis`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hubbub import textfiles
from hubbub.analysis import services

if TYPE_CHECKING:
    from hubbub.analysis.train import Correction

BATCH = 500
ACCURATE_BATCH = 64  # ~1.5 s of encoder work: the progress bar moves and memory stays flat

analysis_app = typer.Typer(help="Train and inspect Hubbub's analysis model.", no_args_is_help=True)
_err = Console(stderr=True)


def _read_rows(path: Path, text_column: str) -> tuple[list[str], int]:
    """The text column of any CSV: BOM, quotes, newlines in fields, UTF-16/Windows-1252, `;`/tab/`|` delimiters."""
    text, encoding = textfiles.decode(path.read_bytes())
    if encoding != "utf-8":
        _err.print(f"note: {path} is not plain UTF-8; read as {encoding}")
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    first_line, _, rest = text.partition("\n")
    hinted = textfiles.sep_hint(first_line)
    if hinted:  # Excel's "sep=;" line: the delimiter, then the real header
        text = rest
        first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise ValueError(f"{path} is empty: no header row")
    delimiter = hinted or textfiles.sniff_delimiter(first_line, [text_column])
    names = textfiles.header_names(first_line, delimiter)
    col = textfiles.find_column(names, text_column)
    if col is None:
        shown = ", ".join(repr(n) for n in names[:20])
        raise KeyError(f"column {text_column!r} not found in {path}; columns are: {shown}")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader)  # the header, read above
    texts = [row[col] if col < len(row) else "" for row in reader]
    return texts, col


def _batches(n: int, size: int = BATCH) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(n, start + size)


def _analyzer(tier: str) -> tuple[services.Analyzer, int]:
    """The analyzer `classify` uses and its batch size; says on stderr when the accurate tier is unavailable."""
    if tier == "fast":
        return services.get_analyzer(), BATCH
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    os.environ.setdefault("HUBBUB_ENCODER_THREADS", str(cores))  # a CLI run may use every core it has
    accurate = services.get_accurate_analyzer()
    if accurate is None:
        _err.print(f"note: accurate tier unavailable ({services.accurate_status()[1]}); using the fast tier")
        return services.get_analyzer(), BATCH
    return accurate, ACCURATE_BATCH


def classify(
    input: Annotated[Path, typer.Option("--input", "-i", help="CSV file with a text column.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL file to write, one object per row.")],
    text_column: Annotated[str, typer.Option("--text-column", help="Name of the text column.")] = "text",
    explain: Annotated[bool, typer.Option(help="Include the top words behind each label.")] = True,
    model: Annotated[
        str,
        typer.Option("--model", help="accurate (multilingual encoder, ~40 texts/s a core) or fast (~12,000 texts/s)."),
    ] = "accurate",
) -> None:
    """Label every row of a CSV: sentiment, intent, topic, journey stage, urgency.

    Writes one JSON object per input row, in order. Rows with an empty text get
    {"row": n, "error": "empty text"} instead of labels.
    """
    try:
        texts, _ = _read_rows(input, text_column)
    except FileNotFoundError:
        _err.print(f"[red]error:[/red] input file not found: {input}")
        raise typer.Exit(code=2) from None
    except (KeyError, ValueError) as exc:
        _err.print(f"[red]error:[/red] {exc.args[0]}")
        raise typer.Exit(code=2) from None

    if model not in ("accurate", "fast"):
        _err.print(f"[red]error:[/red] --model must be accurate or fast, not {model!r}")
        raise typer.Exit(code=2)
    analyzer, batch = _analyzer(model)
    output.parent.mkdir(parents=True, exist_ok=True)
    with (
        output.open("w", encoding="utf-8") as out,
        Progress(
            TextColumn("classifying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=_err,
            transient=False,
        ) as progress,
    ):
        task = progress.add_task("classify", total=len(texts))
        for start, end in _batches(len(texts), batch):
            chunk = texts[start:end]
            idx = [i for i, t in enumerate(chunk) if t.strip()]
            results = dict(zip(idx, analyzer.analyze_batch([chunk[i] for i in idx]), strict=True))
            for i in range(len(chunk)):
                row_no = start + i + 1
                a = results.get(i)
                if a is None:
                    obj: dict[str, object] = {"row": row_no, "error": "empty text"}
                else:
                    obj = {"row": row_no, **a.as_dict()}
                    if not explain:
                        obj.pop("explanations", None)
                out.write(json.dumps(obj, ensure_ascii=False) + "\n")
            progress.advance(task, end - start)
    _err.print(f"wrote {len(texts)} rows to {output}")


def _django() -> None:
    """Set Django up only for the commands that need the database (never for classify)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
    import django

    django.setup()


# the options both training commands share: agents' corrections feed both tiers
FromDb = Annotated[
    bool, typer.Option("--from-db", help="Also learn from agents' label corrections stored in the database.")
]
Org = Annotated[str | None, typer.Option("--org", help="With --from-db: only this organisation's corrections.")]


def _stored_corrections(org: str | None) -> list[Correction]:
    """Agents' corrections from the database (of one organisation when `org` is a slug), for both tiers."""
    _django()
    # models: importable once the command has set Django up
    from hubbub.tenancy.models import Organization

    org_id = None
    if org:
        found = Organization.objects.filter(slug=org).first()
        if found is None:
            _err.print(f"[red]error:[/red] no organisation with slug {org!r}")
            raise typer.Exit(code=2)
        org_id = found.pk
    stored = services.corrections_for_training(org_id)
    _err.print(f"{len(stored)} stored correction(s) from the database")
    return stored


@analysis_app.command("train")
def train_command(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Shared datasets (default: <repo>/../shared/datasets).")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Where to write the model.")] = None,
    corrections: Annotated[
        Path | None,
        typer.Option("--corrections", help="CSV or JSONL of extra rows with text,label_name,label."),
    ] = None,
    from_db: FromDb = False,
    org: Org = None,
    no_embeddings: Annotated[
        bool,
        typer.Option("--no-embeddings", help="Leave out the static MiniLM word vectors even if installed."),
    ] = False,
) -> None:
    """Build the shipped model from the shared data (reproducible; fixed splits)."""
    # scikit-learn, scipy, the training data: only for this command (`classify` must start fast)
    from hubbub.analysis.model import DEFAULT_MODEL_PATH
    from hubbub.analysis.train import Correction, train

    rows: list[Correction] = []
    if corrections is not None:
        if corrections.suffix == ".jsonl":
            for line in corrections.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    d = json.loads(line)
                    rows.append(Correction(d["text"], d["label_name"], d["label"]))
        else:
            with corrections.open(encoding="utf-8-sig", newline="") as fh:
                rows = [Correction(r["text"], r["label_name"], r["label"]) for r in csv.DictReader(fh)]
    if from_db:
        rows += _stored_corrections(org)
    model = train(
        rows,
        data_dir=data_dir,
        output=output or DEFAULT_MODEL_PATH,
        log=_err.print,
        use_embeddings=False if no_embeddings else None,
    )
    typer.echo(model.version)


@analysis_app.command("train-accurate")
def train_accurate_command(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Shared datasets (default: <repo>/../shared/datasets).")
    ] = None,
    cache: Annotated[
        Path | None, typer.Option("--cache", help="Keep the encoder's embeddings here between runs (.npz).")
    ] = None,
    threads: Annotated[int, typer.Option("--threads", help="Encoder threads.")] = 1,
    from_db: FromDb = False,
    org: Org = None,
) -> None:
    """Train the accurate tier's heads (sentiment, intent, topics) on the frozen encoder's embeddings."""
    # the encoder (~70 MB mapped) and scikit-learn: only for this command
    from hubbub.analysis.accurate.encoder import Encoder, EncoderUnavailable
    from hubbub.analysis.accurate.training import train_accurate

    try:
        encoder = Encoder.load(threads=threads)
    except EncoderUnavailable as exc:
        _err.print(f"[red]error:[/red] the encoder cannot load: {exc}")
        raise typer.Exit(code=1) from None
    rows = _stored_corrections(org) if from_db else []
    heads = train_accurate(encoder, data_dir=data_dir, cache_path=cache, corrections=rows, log=_err.print)
    typer.echo(heads.version)


analysis_app.command("classify")(classify)

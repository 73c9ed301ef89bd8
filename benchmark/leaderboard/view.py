"""What every output shows: the columns, how a value is printed, which cell is best, one colour per family.

README.md, index.html and pareto.png are three views of the same tables; defining them once here keeps
the three from drifting apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby

from benchmark.leaderboard.collect import Dataset, Row, leaderboard_order

DASH = "—"
# matplotlib's tab10: distinct on screen and in print, and the page draws with the same colours as the PNG.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")

EMPTY = "No results yet."
HOW_TO_ADD = (
    "Evaluate a model into the results folder, then rebuild:",
    "pip-bench evaluate ./models/pip-ref --dataset data/synth-kie --output-dir leaderboard/results/\npip-bench leaderboard build",
)
NOTES = (
    "F1: micro field F1 (normalized exact match); ANLS: average normalized Levenshtein similarity.",
    "p50 latency: median per document at batch 1, after warm-up. Throughput: the best docs/s over the measured batch sizes (bs).",
    "PIP speedup vs fastest AR: the p50 latency of the run's fastest AR mode (named) over PIP's, all measured in the same run on the same hardware (PIP rows only).",
    "Bold: the best value of the column in its table (lowest for latency). Latency and throughput depend on the hardware column.",
    "On a shared VM they also depend on the day: rows with one hardware name can differ 2-5x between runs, and so can the speedup (AR and PIP do not slow down alike).",
    "Mode: (grounded) = values kept to runs of the document's words; PIP (span) = a span-answer model: two masks a key point at the value's first and last token on the document.",
    "AR modes: AR = greedy generate; AR-LOOKUP = with prompt-lookup decoding; AR-STATIC = with a static KV cache (its decode step compiled on CUDA). All give the same answers.",
)


def number(value: float | None) -> str:
    """Three significant figures or so, without scientific notation (latencies span 10 ms to 100 s)."""
    if value is None:
        return DASH
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _throughput(row: Row) -> str:
    return DASH if row.throughput is None else f"{number(row.throughput)} (bs {row.throughput_batch})"


def _speedup(row: Row) -> str:
    if row.speedup is None or row.speedup_vs is None:  # both are set on PIP rows only
        return DASH
    return f"{row.speedup:.1f}× ({row.speedup_vs.upper()})"


@dataclass(frozen=True)
class Column:
    """A leaderboard column: its sort value, its printed text, and whether the highest or lowest value is best."""

    key: str
    label: str
    value: Callable[[Row], float | str | None]
    text: Callable[[Row], str]
    best: str | None = None  # "max", "min" or None (not ranked)


COLUMNS: tuple[Column, ...] = (
    Column("model", "Model", lambda r: r.model_name, lambda r: r.model_name),
    Column("mode", "Mode", lambda r: r.mode, lambda r: r.mode.upper() + ("" if r.decoding == "none" else f" ({r.decoding})")),
    Column("f1", "F1", lambda r: r.f1, lambda r: f"{r.f1:.3f}", "max"),
    Column("anls", "ANLS", lambda r: r.anls, lambda r: f"{r.anls:.3f}", "max"),
    Column("p50_ms", "p50 latency (ms)", lambda r: r.p50_ms, lambda r: number(r.p50_ms), "min"),
    Column("throughput", "Throughput (docs/s)", lambda r: r.throughput, _throughput, "max"),
    Column("speedup", "PIP speedup vs fastest AR", lambda r: r.speedup, _speedup, "max"),
    Column("hardware", "Hardware", lambda r: r.hardware, lambda r: r.hardware),
    Column("date", "Date", lambda r: r.date, lambda r: r.date),
    Column("harness", "Harness", lambda r: r.harness, lambda r: r.harness),
)


def best_rows(rows: Sequence[Row], column: Column) -> frozenset[str]:
    """Ids of the rows holding the column's best value (all of them on a tie; none for unranked columns)."""
    values = [(row.row_id, v) for row in rows if (v := column.value(row)) is not None]
    if column.best is None or not values:
        return frozenset()
    pick = max if column.best == "max" else min
    top = pick(v for _, v in values)
    return frozenset(row_id for row_id, v in values if v == top)


@dataclass(frozen=True)
class Section:
    """One table: the rows of one dataset split (one fingerprint), in leaderboard order.

    The same documents scored under two names (a copy in another folder, say) are one benchmark, so a
    section is keyed by content, and it names every dataset id the rows used. Real documents (a dataset
    imported from SROIE, CORD, …) are titled as such, since transfer to them is a different question
    from accuracy on generated data.
    """

    dataset: Dataset  # the first of the rows' datasets in sort order; all share split, fingerprint and size
    rows: tuple[Row, ...]

    @property
    def ids(self) -> str:
        return " = ".join(sorted({row.dataset.id for row in self.rows}))

    @property
    def source(self) -> str:
        """The real dataset's format when any run recorded one ("" for generated documents)."""
        return max(row.dataset.source for row in self.rows)

    @property
    def real(self) -> bool:
        return bool(self.source)

    @property
    def title(self) -> str:
        if not self.real:
            return f"{self.ids} · {self.dataset.split}"
        types = self.dataset.doc_types
        what = f"{types[0]}s" if len(types) == 1 else "documents"
        return f"Real documents: {self.source.upper()} {self.dataset.split} ({self.dataset.num_documents:,} {what})"

    @property
    def note(self) -> str:
        where = f"{self.ids}: " if self.real else ""
        return f"{where}{self.dataset.num_documents:,} documents, fingerprint {self.dataset.fingerprint[:12]}"

    def best(self, column: Column) -> frozenset[str]:
        return best_rows(self.rows, column)


def _content(row: Row) -> tuple[str, str, int]:
    return (row.dataset.split, row.dataset.fingerprint, row.dataset.num_documents)


def sections(rows: Sequence[Row]) -> list[Section]:
    """One section per dataset content (split, fingerprint, size): real documents first, then generated ones,
    each ordered by its first dataset id."""
    groups = [list(group) for _, group in groupby(sorted(rows, key=_content), key=_content)]
    found = [Section(min(r.dataset for r in group), tuple(leaderboard_order(group))) for group in groups]
    return sorted(found, key=lambda section: (not section.real, section.dataset))


def family_colours(rows: Sequence[Row]) -> dict[str, str]:
    """Families in name order take the palette in turn, so a family keeps its colour as long as the set is unchanged."""
    return {family: PALETTE[i % len(PALETTE)] for i, family in enumerate(sorted({r.family for r in rows}))}

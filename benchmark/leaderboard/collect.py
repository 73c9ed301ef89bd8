"""From a folder of results files to leaderboard rows: validate, flatten, deduplicate, order, Pareto front.

Every file is checked against the results schema before anything is read from it, so the renderers can
index into the data without defending against missing fields. A results file holds one run (one model on
one dataset split); it becomes one row per mode it ran.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmark.modes import AR_MODES
from benchmark.results import SCHEMA_VERSION, schema_errors, speedup_baseline

MAJOR = SCHEMA_VERSION.split(".")[0]
MAX_REASONS = 3  # schema violations quoted per file: enough to fix it, short enough for one line


@dataclass(frozen=True, order=True)
class Dataset:
    """What was scored. Rows are comparable only within one fingerprint, so it is part of the identity."""

    id: str
    split: str
    fingerprint: str
    num_documents: int
    source: str = ""  # the real dataset's format (sroie, cord, …); "" for generated documents
    doc_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    """One model in one mode on one dataset split, on one machine: a line of the leaderboard."""

    file: str  # the results file (= the run) it came from
    created: datetime
    dataset: Dataset
    model_id: str
    model_sha: str
    model_name: str  # what the tables print: the id, plus the weights' short sha where the id is ambiguous (name_models)
    family: str
    dtype: str
    num_parameters: int
    mode: str
    decoding: str  # the run's --ar-constraint or --pip-constraint for this mode (none, json, grounded); span: PIP span answers
    f1: float
    anls: float
    p50_ms: float | None  # None when the run was not timed
    throughput: float | None  # best docs/s over the measured batch sizes
    throughput_batch: int | None
    speedup: float | None  # fastest AR mode's p50 / PIP p50 from the same run; PIP rows only
    speedup_vs: str | None  # that AR mode (ar, ar-lookup, ar-static, ar-draft)
    hardware: str
    harness: str

    @property
    def key(self) -> tuple[str, ...]:
        """Two rows with the same key measure the same thing; only the newest is kept."""
        return (self.model_sha, self.dataset.fingerprint, self.mode, self.decoding, self.hardware)

    @property
    def row_id(self) -> str:
        """A stable id (the same inputs give the same page) that tests and links can point at."""
        return "r" + hashlib.sha256("\0".join(self.key).encode()).hexdigest()[:12]

    @property
    def date(self) -> str:
        return self.created.date().isoformat()


def _decoding(data: dict[str, Any], mode: str) -> str:
    """How the mode's values were decoded: the run's constraint, or ``span`` for a span-answer model's PIP
    (which takes no constraint), so a table tells the two PIP answer forms apart (``PIP (span)``); a span read
    at any length rather than within the model's trained lengths (``--pip-span-length any``) is its own row."""
    if mode == "pip" and data["model"].get("pip_answer") == "span":
        return "span" if data["config"].get("pip_span_length", "trained") == "trained" else "span, any length"
    return data["config"].get("ar_constraint" if mode in AR_MODES else "pip_constraint", "none")


def _utc(text: str) -> datetime:
    """``created`` as an aware UTC time, so files written with different offsets compare correctly."""
    created = datetime.fromisoformat(text)
    return (created if created.tzinfo else created.replace(tzinfo=UTC)).astimezone(UTC)


def _problem(data: Any) -> str | None:
    """Why ``data`` is not a results file this version can read (None when it is)."""
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, str) and version.split(".")[0] != MAJOR:
        return f"unsupported schema_version {version!r} (this pip-bench reads {MAJOR}.x)"
    errors = schema_errors(data)
    if errors:
        more = f" (and {len(errors) - MAX_REASONS} more)" if len(errors) > MAX_REASONS else ""
        return "; ".join(errors[:MAX_REASONS]) + more
    try:
        _utc(data["created"])
    except ValueError:
        return f"created: {data['created']!r} is not an ISO 8601 date-time"
    for mode, result in sorted(data["modes"].items()):
        batches = [b for b in (result["timing"] or {}).get("throughput", {}) if not b.isdigit()]
        if batches:  # the schema leaves the keys free; the leaderboard reads them as batch sizes
            return f"modes/{mode}/timing/throughput: batch size {batches[0]!r} is not a whole number"
    return None


def _no_constants(name: str) -> float:
    """Python reads NaN and Infinity, JSON has neither; a NaN F1 would pass the schema and break every ordering."""
    raise ValueError(f"{name} is not a JSON number")


def load_runs(results_dir: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """The valid runs as ``(file name, data)`` and one ``"name: reason"`` line per invalid file, both by file name."""
    runs: list[tuple[str, dict[str, Any]]] = []
    problems: list[str] = []
    for path in sorted(p for p in results_dir.glob("*.json") if p.is_file()):
        try:
            data = json.loads(path.read_bytes(), parse_constant=_no_constants)
        except OSError as exc:
            problems.append(f"{path.name}: cannot read: {exc.strerror}")
            continue
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            problems.append(f"{path.name}: not valid JSON: {exc}")
            continue
        except RecursionError:
            problems.append(f"{path.name}: not valid JSON: nested too deeply to be a results file")
            continue
        problem = _problem(data)
        if problem:
            problems.append(f"{path.name}: {problem}")
        else:
            runs.append((path.name, data))
    return runs, problems


def _best_throughput(timing: dict[str, Any]) -> tuple[float | None, int | None]:
    by_batch = sorted((int(b), v) for b, v in timing["throughput"].items())
    if not by_batch:
        return None, None
    batch, value = max(by_batch, key=lambda bv: (bv[1], -bv[0]))  # ties: the smaller batch
    return value, batch


def rows_from_run(name: str, data: dict[str, Any]) -> list[Row]:
    """One row per mode of a (valid) results file, in mode order."""
    model, dataset, speedup = data["model"], data["dataset"], data.get("speedup")
    rows = []
    for mode, result in sorted(data["modes"].items()):
        timing = result["timing"]
        throughput, batch = _best_throughput(timing) if timing else (None, None)
        rows.append(
            Row(
                file=name,
                created=_utc(data["created"]),
                dataset=Dataset(
                    dataset["id"],
                    dataset["split"],
                    dataset["fingerprint"],
                    dataset["num_documents"],
                    dataset.get("source", ""),
                    tuple(sorted(dataset["doc_types"])),
                ),
                model_id=model["id"],
                model_sha=model["sha"],
                model_name=model["id"],
                family=model["family"],
                dtype=model["dtype"],
                num_parameters=model["num_parameters"],
                mode=mode,
                decoding=_decoding(data, mode),
                f1=result["metrics"]["f1"],
                anls=result["metrics"]["anls"],
                p50_ms=timing["latency"]["p50_ms"] if timing else None,
                throughput=throughput,
                throughput_batch=batch,
                speedup=speedup["latency_p50"] if speedup and mode == "pip" else None,
                speedup_vs=speedup_baseline(speedup) if speedup and mode == "pip" else None,
                hardware=data["environment"]["hardware"],
                harness=data["harness"]["version"],
            )
        )
    return rows


def dedupe(rows: Sequence[Row]) -> tuple[list[Row], list[str]]:
    """Keep the newest row per key (ties: the later file name) and say which file each dropped row came from."""
    newest: dict[tuple[str, ...], Row] = {}
    for row in sorted(rows, key=lambda r: (r.created, r.file)):
        newest[row.key] = row
    kept = set(newest.values())
    messages = []
    for row in sorted(rows, key=lambda r: (r.file, r.mode)):
        if row not in kept:
            winner = newest[row.key]
            why = "is newer" if winner.created > row.created else "was created at the same time and sorts later"
            messages.append(
                f"dropped {row.file} ({row.mode}): {winner.file} has the same model sha, dataset fingerprint, mode, decoding and hardware and {why}"
            )
    return [row for row in rows if row in kept], messages


def current_weights(rows: Sequence[Row]) -> list[Row]:
    """The rows of each model id's current weights: the sha its most recent run scored.

    A model retrained into the same folder, or a shipped model replaced by a release, keeps its older
    results files as history; a leaderboard of record shows what the name stands for now
    (``leaderboard build --all`` shows the history too). ``NAME@REVISION`` (a Hub revision, or the label
    ``scripts/relabel_results.py`` gave retired weights) is a version of ``NAME``."""
    current: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: (r.created, r.file)):
        current[_base_name(row.model_id)] = row.model_sha
    return [row for row in rows if row.model_sha == current[_base_name(row.model_id)]]


def _base_name(model_id: str) -> str:
    return model_id.split("@", 1)[0]


def name_models(rows: Sequence[Row]) -> list[Row]:
    """Give a model id scored with different weights (a model retrained into the same folder) the short sha of each.

    Rows are already told apart by sha (``Row.key``); without this the tables would print two different
    models under one name, and a reader could not tell which row the shipped weights earned.
    """
    shas: defaultdict[str, set[str]] = defaultdict(set)
    for row in rows:
        shas[row.model_id].add(row.model_sha)
    return [replace(row, model_name=f"{row.model_id} @{row.model_sha[:8]}") if len(shas[row.model_id]) > 1 else row for row in rows]


def leaderboard_order(rows: Sequence[Row]) -> list[Row]:
    """Most accurate first; the tie-breakers only make the order total, so equal inputs give equal pages."""
    return sorted(rows, key=lambda r: (-r.f1, -r.anls, r.model_id, r.mode, r.hardware, r.file))


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the ``(latency, f1)`` points no other point beats (lower latency and higher F1, one strictly).

    Returned by increasing latency (so F1 increases too), ready to draw as a step line. Identical points
    do not dominate each other: all of them are on the front.
    """
    front: list[int] = []
    for i in sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1], i)):
        if not front or points[i][1] > points[front[-1]][1] or points[i] == points[front[-1]]:
            front.append(i)
    return front

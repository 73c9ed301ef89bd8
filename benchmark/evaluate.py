"""One evaluation run: dataset → adapter → AR and/or PIP predictions → metrics and timing → results.

Predictions and timing are separate passes. Predictions run over every document at ``--batch-size``
and are cached per document (keyed by model sha, revision, dataset fingerprint, a hash of what the adapter
reads, mode, the mode's settings and the harness version), so an interrupted run resumes where it stopped. Timing runs after the predictions, on a
sample stratified by doc type, all modes interleaved on the same device in the same process:
warm-up, then per-document latency at batch 1 and throughput at each ``--timing-batch-sizes``.

Every AR mode (``benchmark.modes``) is timed side by side with PIP, and PIP's speedup is reported against
each of them and against the fastest.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from benchmark import __version__
from benchmark.adapters import load_adapter, load_config, resolve
from benchmark.adapters.base import Adapter, Decoding, ModelSpec
from benchmark.constrain import CONSTRAINTS, PIP_CONSTRAINTS
from benchmark.data import Document, EvalSet, Values, load_eval_set
from benchmark.errors import BenchError, first_line
from benchmark.metrics import document_scores, score
from benchmark.modes import AR_MODES, DEFAULT_MODES, LOOKUP_TOKENS, MODES, SPAN_LENGTHS, TIMING
from benchmark.naming import dataset_label, dataset_source, portable_command
from benchmark.parallel import ONE, Processes, processes
from benchmark.pip import ATTENTION, derive_budgets, overflow_count, pip_answer
from benchmark.results import SCHEMA_VERSION, results_filename, write_results
from benchmark.shipped import resolve_model
from datagen.io import write_atomic
from datagen.prompts import parse_ar, span_budgets

CACHE_DIR = ".pip-bench-cache"


@dataclass
class EvalConfig:
    """Everything besides the model and dataset that changes a run's numbers (recorded in the results)."""

    modes: list[str] = field(default_factory=lambda: list(DEFAULT_MODES))
    batch_size: int = 8
    pip_attention: str = "bidirectional"
    max_new_tokens: int = 512
    cache_implementation: str | None = None  # the ar mode's KV cache, passed to generate: e.g. "static" on GPU
    lookup_tokens: int = LOOKUP_TOKENS  # ar-lookup: tokens proposed a step
    draft_model: str | None = None  # ar-draft: the draft model (Hub id, folder or shipped name) that proposes tokens
    ar_constraint: str = "none"  # benchmark.constrain: none, json (skeleton forced), grounded (+ values in the words)
    pip_constraint: str = "none"  # benchmark.constrain: none, grounded (values in the words)
    pip_span_length: str = "trained"  # span answers: trained (within each key's longest training value), any
    timing_batch_sizes: list[int] = field(default_factory=lambda: list(TIMING["timing_batch_sizes"]))
    timing_docs: int = TIMING["timing_docs"]
    warmup: int = TIMING["warmup"]
    ocr: str | None = None  # text read from the page images by this OCR engine (datagen.ocr) instead of the dataset's words

    def constraint(self, kind: str) -> str:
        """The constraint of a kind of mode: ``ar`` (every AR mode) or ``pip``."""
        return {"ar": self.ar_constraint, "pip": self.pip_constraint}[kind]

    def check(self) -> None:
        for mode in self.modes:
            if mode not in MODES:
                raise BenchError(f"--modes: unknown mode {mode!r} (choose from {', '.join(MODES)})")
        if not self.modes:
            raise BenchError(f"--modes: give at least one of {', '.join(MODES)}")
        repeated = sorted({m for m in self.modes if self.modes.count(m) > 1})
        if repeated:
            raise BenchError(f"--modes: {', '.join(repeated)} given twice; each mode runs once")
        if self.ar_constraint not in CONSTRAINTS:
            raise BenchError(f"--ar-constraint must be one of {', '.join(CONSTRAINTS)} (got {self.ar_constraint})")
        assisted = [m for m in ("ar-lookup", "ar-draft") if m in self.modes]
        if self.ar_constraint != "none" and assisted:
            raise BenchError(
                f"--ar-constraint {self.ar_constraint} cannot run with {assisted[0]}: its automaton reads each token once and "
                "cannot take back the proposals the model rejects; constrain ar or ar-static instead"
            )
        if "ar-draft" in self.modes and not self.draft_model:
            raise BenchError("--modes ar-draft needs --draft-model MODEL: a smaller model with the same tokenizer that proposes tokens")
        if self.draft_model and "ar-draft" not in self.modes:
            raise BenchError("--draft-model is used by the ar-draft mode only: add ar-draft to --modes")
        if self.lookup_tokens < 1:
            raise BenchError("--lookup-tokens must be at least 1")
        if self.pip_constraint not in PIP_CONSTRAINTS:
            raise BenchError(f"--pip-constraint must be one of {', '.join(PIP_CONSTRAINTS)} (got {self.pip_constraint})")
        if self.pip_span_length not in SPAN_LENGTHS:
            raise BenchError(f"--pip-span-length must be one of {', '.join(SPAN_LENGTHS)} (got {self.pip_span_length})")
        if self.pip_attention not in ATTENTION:
            raise BenchError(f"--pip-attention must be one of {', '.join(ATTENTION)}")
        if self.batch_size < 1 or self.max_new_tokens < 1 or self.timing_docs < 0 or self.warmup < 0:
            raise BenchError("--batch-size and --max-new-tokens must be at least 1; --timing-docs and --warmup at least 0")
        if any(b < 1 for b in self.timing_batch_sizes):
            raise BenchError("--timing-batch-sizes must all be at least 1")


@dataclass
class Prediction:
    """One document's answer in one mode: what is cached, scored and logged."""

    id: str
    prompt: str
    output: str
    values: Values
    tokens: int  # tokens generated (AR) or mask slots filled (PIP)
    parsed: bool = True
    passes: int | None = None  # forward passes where they are fewer than the tokens (ar-lookup)


# ----------------------------------------------------------------------------- environment


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: str) -> dict[str, Any]:
    import transformers

    cores = os.cpu_count() or 1
    gpu = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") and torch.cuda.is_available() else None
    cpu = _cpu_name()
    return {
        "device": device,
        "hardware": gpu or f"{cpu} ({cores} cores)",
        "cpu": cpu,
        "cpu_cores": cores,
        "gpu": gpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "platform": platform.platform(),
    }


# The code a result depends on: a run from a checkout with uncommitted changes here is flagged, since
# its git_hash alone does not say which code produced it.
_CODE_PATHS = (":(top)benchmark", ":(top)datagen", ":(top)templates", ":(top)pyproject.toml")


def _git(where: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def harness_info(command: str, where: Path = Path(__file__).parent) -> dict[str, Any]:
    """Who ran: version, commit of the checkout at ``where``, whether its code differed from that commit
    (omitted outside git), and the command (its absolute paths cut to their last component)."""
    head = _git(where, "rev-parse", "HEAD") or None
    changes = _git(where, "status", "--porcelain", "--untracked-files=no", "--", *_CODE_PATHS) if head else None
    dirty = {} if changes is None else {"git_dirty": bool(changes)}
    return {"name": "pip-bench", "version": __version__, "git_hash": head, **dirty, "command": portable_command(command)}


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise BenchError(f"--output-dir {folder}: not writable ({exc.strerror or exc})") from None


# ----------------------------------------------------------------------------- predictions (cached)


class PredictionCache:
    """Append-only JSONL of finished documents for one (model, dataset, mode, settings) key.

    A line is written and flushed per batch; a line cut by a crash is ignored on the next read, so the
    cache never holds a half-written document. In a data-parallel run each process appends to a file of
    its own (``part``): two processes appending to one file could interleave their lines. Reading takes
    every file of the key, so a run resumes whatever the number of processes that wrote them.
    """

    def __init__(self, folder: Path, key: dict[str, Any], part: int | None = None):
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
        self.stem = f"{key['mode']}-{digest}"
        self.folder = folder / CACHE_DIR
        self.path = self.folder / (f"{self.stem}.jsonl" if part is None else f"{self.stem}.p{part}.jsonl")

    def load(self) -> dict[str, Prediction]:
        done: dict[str, Prediction] = {}
        for path in sorted(self.folder.glob(f"{self.stem}*.jsonl")):
            for line in path.read_text().splitlines():
                try:
                    p = Prediction(**json.loads(line))
                except (json.JSONDecodeError, TypeError):
                    continue
                done[p.id] = p
        return done

    def append(self, predictions: Sequence[Prediction]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        cut = self._cut_line()
        with self.path.open("a") as fh:
            if cut:  # end the line a crash cut, or the first new prediction would be glued to it and lost
                fh.write("\n")
            for p in predictions:
                fh.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _cut_line(self) -> bool:
        try:
            with self.path.open("rb") as fh:
                fh.seek(-1, os.SEEK_END)
                return fh.read(1) != b"\n"
        except OSError:  # no file yet, or an empty one
            return False

    def collect(self, docs: Sequence[Document]) -> list[Prediction]:
        """Every document's prediction, in the documents' order, from whichever process made it."""
        done = self.load()
        missing = [d.id for d in docs if d.id not in done]
        if missing:
            raise BenchError(f"{self.folder}: no prediction for {len(missing)} documents (first: {missing[0]}); rerun the same command")
        return [done[d.id] for d in docs]


@dataclass(frozen=True)
class Draft:
    """The ar-draft mode's draft model and how results name it. Why keep the info: naming a local model hashes
    its files, which is done once, not once per use."""

    model: Any
    info: dict[str, Any]


def ar_decoding(mode: str, config: EvalConfig, adapter: Adapter, draft: Draft | None = None) -> tuple[Decoding, str]:
    """The ``Decoding`` an AR mode runs, and what the results should say about it (empty: nothing to add).

    The decode step is compiled only on CUDA, where transformers itself compiles it with a static cache:
    on this project's 2-core CPU the compiled step of a tiny Llama ran 3-5x slower than eager, so ``ar-static``
    there is the static cache alone. Models that do not declare themselves compilable
    (``_can_compile_fullgraph``, e.g. the copy-head reference models) stay eager everywhere.
    """
    if mode == "ar-lookup":
        note = (
            f"prompt lookup, {config.lookup_tokens} tokens proposed a step; one document at a time (assisted generation takes one sequence)"
        )
        return Decoding(lookup_tokens=config.lookup_tokens), note
    if mode == "ar-draft":
        if draft is None:
            raise BenchError("ar-draft needs a draft model (--draft-model)")
        note = (
            f"assisted decoding: {draft.info['id']} ({draft.info['num_parameters']:,} parameters) drafts, the model checks; "
            "one document at a time"
        )
        return Decoding(assistant=draft.model), note
    cache = "static" if mode == "ar-static" else config.cache_implementation
    if cache != "static":
        return Decoding(cache), ""
    if adapter.device.type != "cuda":
        return Decoding(
            cache
        ), f"decode step not compiled: pip-bench compiles it on CUDA only, as transformers does (device: {adapter.device.type})"
    if not getattr(adapter.model, "_can_compile_fullgraph", False):
        return Decoding(cache), f"decode step not compiled: {type(adapter.model).__name__} does not declare itself compilable"
    return Decoding(cache, compile=True), "decode step compiled with torch.compile"


class ARRunner:
    """Answers batches of documents in one AR mode and keeps what ran: a decode step that torch.compile
    fails on runs eager from then on, and the results say so instead of naming a mode that did not run."""

    def __init__(self, adapter: Adapter, mode: str, config: EvalConfig, draft: Draft | None = None):
        self.adapter, self.mode, self.config = adapter, mode, config
        self.draft = draft.info if draft is not None and mode == "ar-draft" else None
        self.decoding, self.note = ar_decoding(mode, config, adapter, draft)

    def __call__(self, docs: Sequence[Document]) -> list[Prediction]:
        if not self.decoding.compile:
            return self._answer(docs)
        try:
            return self._answer(docs)
        except torch._dynamo.exc.TorchDynamoException as exc:
            self.decoding = replace(self.decoding, compile=False)
            self.note = f"decode step not compiled: torch.compile failed ({first_line(exc)})"
            tqdm.write(f"{self.mode}: {self.note}; decoding eager from here on", file=sys.stderr)
            return self._answer(docs)

    def _answer(self, docs: Sequence[Document]) -> list[Prediction]:
        out = []
        for doc, r in zip(docs, self.adapter.ar(docs, self.config.max_new_tokens, self.decoding, self.config.ar_constraint), strict=True):
            values, ok = parse_ar(r.output, doc.doc_type)
            out.append(Prediction(doc.id, r.prompt, r.output, values, r.new_tokens, ok, r.forward_passes))
        return out

    def settings(self) -> dict[str, Any]:
        """What the answers depend on, for the prediction cache's key (a free ``ar`` keeps the key of older runs)."""
        lookup = self.decoding.lookup_tokens  # the answers are ar's, but their forward passes are not
        return (
            {"max_new_tokens": self.config.max_new_tokens, "cache": self.decoding.cache_implementation}
            | ({"lookup_tokens": lookup} if lookup else {})
            | ({"draft": self.draft["sha"]} if self.draft else {})
            | ({"constraint": self.config.ar_constraint} if self.config.ar_constraint != "none" else {})
        )

    def record(self) -> dict[str, Any]:
        """What ran: the mode's ``generate`` in the results."""
        ran: dict[str, Any] = {"cache": self.decoding.cache_implementation or "dynamic", "compiled": self.decoding.compile}
        if self.decoding.lookup_tokens:
            ran["prompt_lookup_num_tokens"] = self.decoding.lookup_tokens
        if self.draft:
            ran["assistant_model"] = {k: self.draft[k] for k in ("id", "sha", "num_parameters", "dtype")}
        return ran | ({"note": self.note} if self.note else {})


def _runner(
    adapter: Adapter, mode: str, config: EvalConfig, budgets: dict[str, dict[str, int]], draft: Draft | None = None
) -> Callable[[Sequence[Document]], list[Prediction]]:
    """The function that answers a batch of documents in ``mode``."""
    if mode in AR_MODES:
        return ARRunner(adapter, mode, config, draft)

    def run_pip(docs: Sequence[Document]) -> list[Prediction]:
        results = adapter.pip(docs, budgets, config.pip_attention, config.pip_constraint, config.pip_span_length)
        return [Prediction(d.id, r.prompt, r.output, r.values, r.slots) for d, r in zip(docs, results, strict=True)]

    return run_pip


def bucketed_batches(docs: Sequence[Document], size: int) -> list[Sequence[Document]]:
    """Batches of ``size`` after ordering by doc type and length, as a server buckets requests.

    Batches are left-padded to their longest document, and a PIP batch computes the head at every slot
    position of every row, so a batch mixing doc types and lengths wastes most of its work (on a 2-core
    CPU, PIP at batch 32 ran at 16.6 documents/s mixed against 23.4 bucketed). Results do not depend on
    the order: predictions are keyed by document id.
    """
    ordered = sorted(docs, key=lambda d: (d.doc_type, len(d.text)))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def predict(
    run: Callable[[Sequence[Document]], list[Prediction]],
    docs: Sequence[Document],
    batch_size: int,
    cache: PredictionCache,
    mode: str,
    procs: Processes = ONE,
) -> None:
    """Predict this process's share of the documents not in the cache yet, appending each batch to it.

    Every process reads the cache before any of them writes (the barrier), so all of them see the same
    documents left to do and share exactly those."""
    done = cache.load()
    procs.wait()
    todo = [d for d in docs if d.id not in done]
    if done and procs.main:
        tqdm.write(f"{mode}: {len(docs) - len(todo)} of {len(docs)} documents already done ({cache.folder}); resuming", file=sys.stderr)
    mine = procs.share(todo)
    desc = f"{mode} predictions" + (f" (process 1 of {procs.count}: its share)" if procs.count > 1 else "")
    with tqdm(total=len(mine), desc=desc, unit="doc", disable=not procs.main) as bar:
        for batch in bucketed_batches(mine, batch_size):
            cache.append(run(batch))
            bar.update(len(batch))


# ----------------------------------------------------------------------------- timing


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _seconds(run: Callable[[Sequence[Document]], Any], batch: Sequence[Document], device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    run(batch)
    _sync(device)
    return time.perf_counter() - start


def stratified(docs: Sequence[Document], n: int) -> list[Document]:
    """The first ``n`` documents taking doc types in turn, so every type is timed."""
    by_type: dict[str, list[Document]] = {}
    for d in docs:
        by_type.setdefault(d.doc_type, []).append(d)
    order: list[Document] = []
    queues = list(by_type.values())
    while len(order) < min(n, len(docs)):
        for q in queues:
            if q and len(order) < n:
                order.append(q.pop(0))
    return order


def _latency(seconds: Sequence[float]) -> dict[str, Any]:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, max(0, round(0.95 * len(ms)) - 1))]
    return {"p50_ms": statistics.median(ms), "p95_ms": p95, "mean_ms": statistics.fmean(ms), "n": len(ms)}


def time_modes(
    runs: dict[str, Callable[[Sequence[Document]], Any]], docs: Sequence[Document], config: EvalConfig, device: torch.device
) -> dict[str, dict[str, Any]] | None:
    """Per mode: latency at batch 1 (p50/p95, overall and per doc type) and throughput per batch size.

    The modes are timed interleaved (each document, or batch, in every mode before the next), so a
    machine that slows down or speeds up during the timing (a shared VM, CPU boost, thermal throttling)
    moves every mode alike, and their ratio, the speedup, stays a side-by-side measurement.
    """
    sample = stratified(docs, config.timing_docs)
    if not sample:
        return None
    names, sizes = " + ".join(runs), sorted(set(config.timing_batch_sizes) - {1})
    then = f", then batches of {', '.join(map(str, sizes))}" if sizes else ""
    tqdm.write(f"timing {names}: {len(sample)} documents at batch 1{then} (--quick or --timing-docs 0: less)", file=sys.stderr)
    for doc in sample[: config.warmup]:
        for run in runs.values():
            run([doc])
    per_doc: dict[str, list[tuple[str, float]]] = {mode: [] for mode in runs}
    for doc in tqdm(sample, desc=f"timing {names} at batch 1", unit="doc", leave=False):
        for mode, run in runs.items():
            per_doc[mode].append((doc.doc_type, _seconds(run, [doc], device)))
    throughput = {mode: {"1": len(v) / sum(s for _, s in v)} for mode, v in per_doc.items()}
    for size in sizes:
        work = stratified(docs, max(config.timing_docs, size))
        batches = bucketed_batches(work, size)
        for run in runs.values():
            run(batches[0])  # warm-up at this shape
        total = dict.fromkeys(runs, 0.0)
        for batch in tqdm(batches, desc=f"timing {names} at batch {size}", unit="batch", leave=False):
            for mode, run in runs.items():
                total[mode] += _seconds(run, batch, device)
        for mode in runs:
            throughput[mode][str(size)] = len(work) / total[mode]
    timings = {}
    for mode, timed in per_doc.items():
        by_type: dict[str, list[float]] = {}
        for doc_type, s in timed:
            by_type.setdefault(doc_type, []).append(s)
        timings[mode] = {
            "latency": _latency([s for _, s in timed]),
            "latency_by_doc_type": {t: _latency(v) for t, v in sorted(by_type.items())},
            "throughput": throughput[mode],
        }
    return timings


# ----------------------------------------------------------------------------- the run


def _metrics(docs: Sequence[Document], preds: Sequence[Prediction]) -> tuple[dict[str, Any], dict[str, Any]]:
    overall = score([d.gold for d in docs], [d.scored(p.values) for d, p in zip(docs, preds, strict=True)])
    by_type = {}
    for doc_type in sorted({d.doc_type for d in docs}):
        pairs = [(d, p) for d, p in zip(docs, preds, strict=True) if d.doc_type == doc_type]
        by_type[doc_type] = score([d.gold for d, _ in pairs], [d.scored(p.values) for d, p in pairs])
    return overall, by_type


def _ratios(ar: dict[str, Any], pip: dict[str, Any]) -> dict[str, Any]:
    """PIP's speedup over one AR mode: p50 latency at batch 1 (overall and per doc type), throughput per batch size."""
    sizes = sorted(set(ar["throughput"]) & set(pip["throughput"]), key=int)
    types = sorted(set(ar["latency_by_doc_type"]) & set(pip["latency_by_doc_type"]))
    return {
        "latency_p50": ar["latency"]["p50_ms"] / pip["latency"]["p50_ms"],
        "throughput": {s: pip["throughput"][s] / ar["throughput"][s] for s in sizes},
        "by_doc_type": {t: ar["latency_by_doc_type"][t]["p50_ms"] / pip["latency_by_doc_type"][t]["p50_ms"] for t in types},
    }


def _speedup(modes: dict[str, Any]) -> dict[str, Any] | None:
    """PIP's speedup over each timed AR mode (``by_ar_mode``), and over the fastest of them, which can differ
    by batch size and doc type: the top-level ratios, each named in ``fastest_ar``. The fastest AR mode is
    the honest baseline; with ``ar`` alone (every older results file) the two are the same."""
    pip = modes.get("pip", {}).get("timing")
    each = {m: _ratios(modes[m]["timing"], pip) for m in AR_MODES if pip and modes.get(m, {}).get("timing")}
    if not each:
        return None

    def fastest(ratios: dict[str, float]) -> str:
        """The AR mode PIP gains least over: the fastest (ties: the first of AR_MODES)."""
        return min(ratios, key=ratios.__getitem__)

    sizes = sorted(set.intersection(*(set(r["throughput"]) for r in each.values())), key=int)
    types = sorted(set.intersection(*(set(r["by_doc_type"]) for r in each.values())))
    latency = fastest({m: r["latency_p50"] for m, r in each.items()})
    by_size = {s: fastest({m: r["throughput"][s] for m, r in each.items()}) for s in sizes}
    by_type = {t: fastest({m: r["by_doc_type"][t] for m, r in each.items()}) for t in types}
    return {
        "latency_p50": each[latency]["latency_p50"],
        "throughput": {s: each[m]["throughput"][s] for s, m in by_size.items()},
        "by_doc_type": {t: each[m]["by_doc_type"][t] for t, m in by_type.items()},
        "fastest_ar": {"latency_p50": latency, "throughput": by_size, "by_doc_type": by_type},
        "by_ar_mode": each,
    }


def _draft(adapter: Adapter, spec: ModelSpec, config: EvalConfig) -> Draft | None:
    """The ar-draft mode's draft model, loaded on the model's device and dtype; it must read the model's tokens."""
    if not config.draft_model:
        return None
    draft = load_adapter(replace(spec, id=resolve_model(config.draft_model), revision=None))
    if draft.reads_images or draft.model.config.is_encoder_decoder:
        raise BenchError(
            f"--draft-model {config.draft_model}: a draft model must be a decoder-only text model (got the {draft.name} adapter)"
        )
    if draft.tokenizer.get_vocab() != adapter.tokenizer.get_vocab():
        raise BenchError(
            f"--draft-model {config.draft_model}: its tokenizer differs from {spec.id}'s; assisted decoding needs the same vocabulary"
        )
    return Draft(draft.model, draft.info())


def evaluate(
    spec: ModelSpec,
    dataset: str,
    output_dir: Path,
    config: EvalConfig,
    split: str = "test",
    limit: int | None = None,
    adapter_name: str | None = None,
    dataset_revision: str | None = None,
    log_samples: bool = False,
    command: str = "pip-bench evaluate",
) -> Path | None:
    """Run the evaluation and write the results file (and samples); returns the results path.

    Launched as several processes (``benchmark.parallel``), each predicts a share of the documents and the
    first one scores them all, times the modes alone and writes the one results file; the others return None.
    """
    started = time.perf_counter()
    harness = harness_info(command)  # the checkout as the run starts: the code that runs, even if it is edited meanwhile
    config.check()
    procs = processes(spec.device)
    if procs.device:
        spec = replace(spec, device=procs.device)
    _check_writable(output_dir)
    model_config = load_config(spec)
    adapter_cls = resolve(model_config, adapter_name)
    kinds = sorted({"ar" if m in AR_MODES else m for m in config.modes})  # every AR mode takes --ar-constraint
    grounded = [f"--{k}-constraint" for k in kinds if config.constraint(k) == "grounded"]
    if grounded and adapter_cls.reads_images:
        raise BenchError(
            f"{grounded[0]} grounded keeps values inside the document's words, which the {adapter_cls.name} adapter does not give the model"
        )
    if "pip" in config.modes and config.pip_constraint != "none" and pip_answer(model_config) == "span":
        raise BenchError(
            f"--pip-constraint {config.pip_constraint} is for token answers; {spec.id} answers in spans (config.pip_answer), "
            "which are read from the document already: run it without the constraint"
        )
    evalset = load_eval_set(dataset, split, limit, images=adapter_cls.reads_images, revision=dataset_revision, ocr=config.ocr)
    adapter = adapter_cls.load(spec, model_config)
    for mode in config.modes:
        reason = adapter.unsupported(mode)
        if reason:
            raise BenchError(f"model {spec.id} cannot run {mode} mode: {reason}")
    if adapter.mask_token_added and "pip" in config.modes:
        tqdm.write(f"note: the tokenizer of {spec.id} had no [mask] token; added one (untrained embedding)", file=sys.stderr)

    budgets = _budgets(adapter, evalset)
    span = adapter.pip_answer() == "span"
    info = adapter.info()
    device = adapter.device
    modes: dict[str, Any] = {}
    predictions: dict[str, list[Prediction]] = {}
    inputs = evalset.inputs_digest(images=adapter_cls.reads_images)
    draft = _draft(adapter, spec, config)
    runs = {mode: _runner(adapter, mode, config, budgets, draft) for mode in config.modes}  # one each: a compile fallback lasts
    caches: dict[str, PredictionCache] = {}
    for mode, run in runs.items():
        settings = (
            # a constraint joins the cache key only when set, so caches of free runs stay valid
            run.settings()
            if isinstance(run, ARRunner)
            else {"attention": config.pip_attention, "budgets": budgets}
            | ({"constraint": config.pip_constraint} if config.pip_constraint != "none" else {})
            | ({"answer": "span", "span_length": config.pip_span_length} if span else {})
        )
        key = {
            "model": info["sha"],
            "revision": spec.revision,
            "dtype": spec.dtype,
            "dataset": evalset.fingerprint,
            "inputs": inputs,
            "mode": mode,
            "settings": settings,
            # the harness reads answers too (span decoding, parsing): a new version must not reuse an old one's
            "harness": __version__,
        }
        caches[mode] = PredictionCache(output_dir, key, procs.index if procs.count > 1 else None)
        predict(run, evalset.documents, config.batch_size, caches[mode], mode, procs)
    procs.wait()  # every share predicted; the first process scores them all, times alone and writes the results
    if not procs.main:
        return None
    for mode, cache in caches.items():
        preds = predictions[mode] = cache.collect(evalset.documents)
        overall, by_type = _metrics(evalset.documents, preds)
        modes[mode] = {
            "metrics": overall,
            "by_doc_type": by_type,
            "num_documents": len(preds),
            "parse_failures": sum(not p.parsed for p in preds),
            # a span answer has no length budget: any run of the document is reachable
            "budget_overflow": overflow_count(adapter.tokenizer, evalset.documents, budgets) if mode == "pip" and not span else 0,
            "timing": None,
        }
    for mode in predictions:  # the faster AR modes are meant to be lossless: this counts it, document by document
        if mode in AR_MODES and mode != "ar" and "ar" in predictions:
            modes[mode]["same_output_as_ar"] = sum(a.output == b.output for a, b in zip(predictions["ar"], predictions[mode], strict=True))
    timings = time_modes(runs, evalset.documents, config, device) or {}  # after all predictions, on the warm device
    for mode, timing in timings.items():
        tokens = statistics.fmean(p.tokens for p in predictions[mode])
        passes = statistics.fmean(p.tokens if p.passes is None else p.passes for p in predictions[mode]) if mode in AR_MODES else 1.0
        timing.update({"tokens_per_doc": tokens, "forward_passes_per_doc": passes})
        modes[mode]["timing"] = timing
    for mode, run in runs.items():
        if isinstance(run, ARRunner):
            modes[mode]["generate"] = run.record()

    created = datetime.now(UTC).replace(microsecond=0)
    source = dataset_source(dataset)
    results: dict[str, Any] = {  # the results file's JSON
        "schema_version": SCHEMA_VERSION,
        "created": created.isoformat().replace("+00:00", "Z"),
        "harness": harness,
        "model": info,
        "dataset": {
            "id": dataset_label(evalset.id),
            "fingerprint": evalset.fingerprint,
            "split": evalset.split,
            "limit": evalset.limit,
            "num_documents": len(evalset.documents),
            "doc_types": evalset.doc_type_counts(),
            **({"source": source} if source else {}),
        },
        "environment": environment(str(device)) | {"processes": procs.count},
        # the draft model named as the results name models: without the machine's paths
        "config": {
            **asdict(config),
            "draft_model": draft and draft.info["id"],
            "pip_budgets": budgets if "pip" in config.modes else None,
        },
        "modes": modes,
        "speedup": _speedup(modes),
        "wall_time_s": time.perf_counter() - started,
    }
    path = output_dir / results_filename(info["id"], results["dataset"]["id"], created.strftime("%Y%m%dT%H%M%S"))
    write_results(path, results)
    if log_samples:
        _write_samples(path.with_name(path.name.replace("results_", "samples_", 1).replace(".json", ".jsonl")), evalset, predictions)
    return path


def _budgets(adapter: Adapter, evalset: EvalSet) -> dict[str, dict[str, int]]:
    """The model's own budgets where it declares them (trained in PIP format), else derived from the data;
    a span answer has two masks a key whatever the values' lengths."""
    if adapter.pip_answer() == "span":
        return {t: span_budgets(t) for t in sorted({d.doc_type for d in evalset.documents})}
    declared = adapter.pip_budgets() or {}
    needed = {d.doc_type for d in evalset.documents}
    missing = [d for d in evalset.documents if d.doc_type not in declared]
    derived = derive_budgets(adapter.tokenizer, missing) if missing else {}
    return {t: dict(declared.get(t) or derived[t]) for t in sorted(needed)}


def _write_samples(path: Path, evalset: EvalSet, predictions: dict[str, list[Prediction]]) -> None:
    lines = []
    for mode, preds in predictions.items():
        for doc, p in zip(evalset.documents, preds, strict=True):
            row = {"id": doc.id, "doc_type": doc.doc_type, "mode": mode, "prompt": p.prompt, "output": p.output, "parsed": p.parsed}
            row.update({"gold": doc.gold, "prediction": p.values, "scores": document_scores(doc.gold, doc.scored(p.values))})
            lines.append(json.dumps(row, ensure_ascii=False))
    write_atomic(path, ("\n".join(lines) + "\n").encode())

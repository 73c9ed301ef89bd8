"""The results file of one ``pip-bench evaluate`` run: its schema, validation, naming and atomic write.

The JSON Schema (``results.schema.json``, next to this module) is the contract between the harness
that writes results and the leaderboard that reads them; both validate against it.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from datagen.io import write_atomic

SCHEMA_VERSION = "1.2"
SCHEMA_FILE = Path(__file__).with_name("results.schema.json")


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def schema_errors(data: Any) -> list[str]:
    """Every violation of the schema as ``path: message`` (empty when ``data`` is a valid results file)."""
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]


def speedup_baseline(speedup: dict[str, Any]) -> str:
    """The AR mode a results file's top-level speedup (batch-1 p50) is over: the fastest AR mode timed, named
    since schema 1.2; older files timed ``ar`` alone."""
    return speedup.get("fastest_ar", {}).get("latency_p50", "ar")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[-80:] or "x"


def results_filename(model_id: str, dataset_id: str, timestamp: str) -> str:
    """``results_<model>_<dataset>_<timestamp>.json`` with path-safe parts (``timestamp`` as YYYYmmddTHHMMSS)."""
    return f"results_{_slug(model_id)}_{_slug(dataset_id)}_{timestamp}.json"


def write_results(path: Path, data: dict[str, Any]) -> None:
    """Validate, then write atomically: an invalid results file is a harness bug, never written."""
    problems = schema_errors(data)
    if problems:
        raise ValueError(f"results do not match {SCHEMA_FILE.name}: " + "; ".join(problems[:5]))
    write_atomic(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())

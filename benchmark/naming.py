"""How a results file names its model, dataset and command: never by a path of the machine that ran it.

Results are committed and compared across machines. ``/work/main/benchmark/models/pip-ref`` says where
one run found the model, not which model it was, and leaks the machine's layout. What identifies a run's
inputs is the model's sha and the dataset's fingerprint, recorded next to the names; a name only has to
be readable, stable across machines and, for models, unambiguous:

- a shipped reference model (a folder in ``benchmark/models/``): its shipped name, ``pip-ref``;
- another local model folder: its name and the short sha of its files, ``my-model@1a2b3c4d`` (a folder
  name alone says nothing about which weights it held);
- a Hub model: ``id@revision`` (``main`` when none was asked for; the resolved commit is the sha);
- a local dataset folder: its name (the fingerprint identifies the content); a real dataset read in
  place (``KIND:PATH``): ``KIND:`` and the folder's name; a Hub dataset: its id;
- the command: every absolute path in it cut to its last component.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path
from typing import Any

from benchmark.data import source_spec
from benchmark.shipped import SHIPPED, shipped_names
from datagen.formats.convert import REPORT_FILE

SHORT_SHA = 8  # hex digits, as the leaderboard prints a weights' sha
_SHA256 = re.compile(r"[0-9a-f]{64}")  # model_sha of a local folder; a Hub commit has 40


def folder_name(path_text: str) -> str:
    """The last component of a path (``.``, ``..`` and ``~`` resolved where the path exists here)."""
    path = Path(path_text).expanduser()
    if path.exists():
        path = path.resolve()
    return path.name or path_text


def _is_absolute(text: str) -> bool:
    return text.startswith(("/", "~"))


def model_label(model_id: str, revision: str | None, sha: str, local: bool) -> str:
    """The name results give a model: shipped name, ``folder@shortsha`` or ``hub-id@revision``."""
    if not local:
        return f"{model_id}@{revision or 'main'}"
    path = Path(model_id).expanduser()
    path = path.resolve() if path.exists() else path
    if path.parent.parts[-2:] == SHIPPED.parts[-2:]:  # benchmark/models/NAME, in any checkout or install
        return path.name
    return f"{folder_name(model_id)}@{sha[:SHORT_SHA]}"


def dataset_label(dataset: str) -> str:
    """The name results give a dataset: ``KIND:`` + folder name, a local folder's name, or the Hub id.

    A spec that starts like a path (``/``, ``.``, ``~``) is a folder even where it does not exist here, as
    the harness reads it (``benchmark.data``), so results written elsewhere are named the same way.
    """
    spec = source_spec(dataset)
    if spec is not None:
        return f"{spec[0]}:{folder_name(spec[1])}"
    if dataset.startswith((".", "/", "~")) or Path(dataset).is_dir():
        return folder_name(dataset)
    return dataset


def dataset_source(dataset: str) -> str | None:
    """The real-dataset format the documents come from (``sroie``, ``cord``, …), read in place
    (``KIND:PATH``) or from a ``datagen import`` folder (its import report); None for generated data."""
    spec = source_spec(dataset)
    if spec is not None:
        return spec[0]
    report = Path(dataset) / REPORT_FILE
    try:
        return json.loads(report.read_text()).get("format") if report.is_file() else None
    except (OSError, ValueError, AttributeError):
        return None


def portable_command(command: str) -> str:
    """``command`` with each absolute path argument (also after ``--opt=`` or ``KIND:``) cut to its last
    component, so the recorded command still shows what ran without naming the machine's folders."""

    def portable(arg: str) -> str:
        option, eq, value = arg.partition("=")
        if eq and option.startswith("-"):
            return f"{option}={portable(value)}"
        spec = source_spec(arg)
        if spec is not None and _is_absolute(spec[1]):
            return f"{spec[0]}:{folder_name(spec[1])}"
        return folder_name(arg) if _is_absolute(arg) else arg

    try:
        args = shlex.split(command)
    except ValueError:  # unbalanced quotes: not a command line pip-bench wrote
        return command
    return shlex.join(portable(arg) for arg in args)


def relabel_results(data: dict[str, Any]) -> dict[str, Any]:
    """A results file written before runs were named this way, named as a run now names it.

    Files from another machine have paths that do not exist here, so what a name stood for is read from
    the file: a model with a sha256 (``model_sha`` of a folder) was a local folder, one with a Hub commit a
    Hub id; a dataset id that starts like a path was a folder (one like ``data/synth-kie``, which could be a
    Hub id, is kept). Names that already are labels are kept, so relabelling twice changes nothing.
    """
    out = copy.deepcopy(data)
    model, dataset = out["model"], out["dataset"]
    local = _SHA256.fullmatch(model["sha"]) is not None
    if "@" not in model["id"] and not (local and model["id"] in shipped_names()):
        model["id"] = model_label(model["id"], model.get("revision"), model["sha"], local)
    source = source_spec(dataset["id"])
    dataset["id"] = dataset_label(dataset["id"])
    if source is not None:
        dataset.setdefault("source", source[0])
    out["harness"]["command"] = portable_command(out["harness"]["command"])
    return out

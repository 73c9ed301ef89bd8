"""Rename the models, datasets and commands of results files written before runs stopped naming machine paths.

One-off migration (issue #22 item 7) of a folder of results files, in place: each file gets the names a
run gives now (``benchmark.naming.relabel_results``) and the file name those names give
(``results_pip-ref_synth-kie-test3300-v3_20261127T111850.json``); a ``samples_*.jsonl`` of the same run
is renamed with it. Everything is checked before anything is written; a second run changes nothing.

    python scripts/relabel_results.py leaderboard/results && pip-bench leaderboard build
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from benchmark.errors import BenchError
from benchmark.naming import relabel_results
from benchmark.results import results_filename, write_results
from datagen.cli import run_command


def _samples(path: Path) -> Path:
    return path.with_name(path.name.replace("results_", "samples_", 1).replace(".json", ".jsonl"))


def plan(folder: Path) -> list[tuple[Path, Path, dict]]:
    """(old path, new path, relabelled data) per results file; refuses two files that would share a name."""
    moves: list[tuple[Path, Path, dict]] = []
    for path in sorted(folder.glob("results_*.json")):
        try:
            data = relabel_results(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            raise BenchError(f"{path}: not a results file this script can relabel ({exc})") from None
        stamp = datetime.fromisoformat(data["created"].replace("Z", "+00:00")).strftime("%Y%m%dT%H%M%S")
        moves.append((path, folder / results_filename(data["model"]["id"], data["dataset"]["id"], stamp), data))
    targets = [new for _, new, _ in moves]
    clash = next((t for t in targets if targets.count(t) > 1), None)
    if clash is not None:
        raise BenchError(f"two results files would both become {clash.name}; nothing written")
    return moves


def _run(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    if not folder.is_dir():
        raise BenchError(f"{folder}: no such folder")
    moves = plan(folder)
    targets = {new for _, new, _ in moves}
    for old, new, data in moves:
        write_results(new, data)
        if old not in targets:  # renamed, and no other file took its name
            old.unlink()
            if _samples(old).is_file():
                _samples(old).rename(_samples(new))
    renamed = sum(old != new for old, new, _ in moves)
    print(f"relabelled {len(moves)} results files in {folder} ({renamed} renamed)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder of results_*.json (e.g. leaderboard/results)")
    parser.set_defaults(func=_run)
    return run_command("relabel_results", parser.parse_args(argv), BenchError)


if __name__ == "__main__":
    sys.exit(main())

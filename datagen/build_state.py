"""A build folder's state (``.datagen/``): the build file, the shard sidecars and locks, and the checks on them.

Resuming. ``.datagen/build.json`` holds the config, its hash and the PIP mask budgets; every finished
shard is written to a temporary file and renamed, then described by a sidecar
``.datagen/shards/NAME.json`` (rows, sha256, statistics). Rerunning the same command skips shards
whose file matches its sidecar and builds the rest; a different config refuses to touch the folder.

Concurrency. Slices (or whole runs) may write into one folder at the same time, as a Slurm array does.
Preparing the folder (calibration, ``build.json``) happens under ``.datagen/build.lock``; a shard is built
only under its own lock ``.datagen/locks/NAME.lock`` and into a temporary file named for its writer, so
no run touches another's unfinished work. The locks are OS file locks (``filelock``): the kernel drops
them when their process dies, so a temporary file whose shard lock can be taken belongs to a dead run
and is removed.

Why a module of its own: every command that reads a build folder (build, merge, verify, stats, publish,
and the benchmark's dataset loader) asks it whether the folder is whole, and none of them needs the runner.
``finalize_build`` (``datagen merge``, or the end of an unsliced run) checks every shard and writes the card.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from tqdm import tqdm

from datagen import __version__
from datagen.build_plan import BuildConfig, Shard, bytes_per_doc, calibrate_budgets, eligible, input_digests, shard_plan
from datagen.card import write_card
from datagen.errors import DatagenError
from datagen.io import CONFIG_FILE, sha256_file, write_atomic

STATE_DIR = ".datagen"


def _state_path(out: Path) -> Path:
    return out / STATE_DIR / "build.json"


STATE_KEYS = ("config", "config_hash", "generator_version", "command", "budgets", "shards")
SIDECAR_KEYS = ("name", "path", "split", "rows", "bytes", "sha256", "stats")


def _json_digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def checked_json(data: dict[str, Any]) -> bytes:
    """``data`` as JSON with a ``checksum`` of its content, so that any change to the file is noticed."""
    return json.dumps({**data, "checksum": _json_digest(data)}, indent=1).encode()


def _read_json(path: Path, keys: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The object ``checked_json`` wrote to ``path``, or None if the file was changed since (bit flip,
    truncation, edit). Files written before checksums (no ``checksum`` key, no ``optional`` keys) are
    read by their keys alone, so older builds stay readable."""
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    checksum = data.pop("checksum", None)
    if not set(keys) <= set(data) <= {*keys, *optional} or (checksum is not None and checksum != _json_digest(data)):
        return None
    return data


def read_state(out: Path) -> dict[str, Any]:
    """The build state of ``out`` (config, hash, budgets, plan); a folder without one is an error."""
    state_file = _state_path(out)
    if not state_file.exists():
        raise DatagenError(f"{out} holds no datagen build (no {STATE_DIR}/build.json)")
    state = _read_json(state_file, STATE_KEYS, optional=("inputs",))
    if state is None:
        raise DatagenError(
            f"{state_file} is damaged (not the JSON a build writes); the configuration it held is lost: rebuild into a new --out"
        )
    return state


def _matching_state(config: BuildConfig, out: Path) -> dict[str, Any] | None:
    """The state of the build in ``out`` if there is one; one with another configuration is an error."""
    if not _state_path(out).exists():
        return None
    state = read_state(out)
    if state["config_hash"] != config.digest():
        if BuildConfig.from_json(state["config"]) == config:  # same options: a template, font or tokenizer file changed
            then, now = state.get("inputs", {}), input_digests(config)
            changed = sorted(name for name in then.keys() | now.keys() if then.get(name) != now.get(name))
            raise DatagenError(
                f"{out} was started with other template, font or tokenizer files ({describe_problems(changed)} differ); "
                "restore them to finish this build, or use another --out"
            )
        raise DatagenError(
            f"{out} holds a build with a different configuration (hash {state['config_hash']}, this one {config.digest()}); use another --out or the same options"
        )
    return state


def prepare_build(config: BuildConfig, out: Path, command: str) -> dict[str, Any]:
    """Create or reuse the output folder; refuse a folder that holds anything else.

    Slices started together on a new folder all land here: the first to take ``build.lock`` calibrates
    and writes the state, the others wait and reuse it (an empty ``.datagen`` is a build being prepared).
    """
    eligible(config)  # unknown templates or locales fail before anything is written
    state = _matching_state(config, out)
    if state is not None:
        return state
    if out.exists() and any(p.name != STATE_DIR for p in out.iterdir()):
        raise DatagenError(f"{out} is not empty and holds no datagen build; choose an empty or new --out")
    created = not out.exists()
    try:
        (out / STATE_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatagenError(f"cannot write to {out}: {exc.strerror}") from None
    with FileLock(out / STATE_DIR / "build.lock"):
        state = _matching_state(config, out)  # prepared by another slice while this one waited
        if state is not None:
            return state
        try:
            _check_disk(config, out)
            budgets = calibrate_budgets(config)
            state = {
                "config": config.to_json(),
                "config_hash": config.digest(),
                "inputs": input_digests(config),
                "generator_version": __version__,
                "command": command,
                "budgets": budgets,
                "shards": [s.path for s in shard_plan(config)],
            }
            try:
                write_atomic(_state_path(out), checked_json(state))
            except OSError as exc:
                raise DatagenError(f"cannot write to {out}: {exc.strerror}") from None
        except BaseException:
            if created:  # leave nothing behind; no state exists, so no other run has work in the folder
                shutil.rmtree(out, ignore_errors=True)
            raise
    return state


def _check_disk(config: BuildConfig, out: Path) -> None:
    free = shutil.disk_usage(out).free
    need = config.n * bytes_per_doc(config)
    if need > free:
        raise DatagenError(f"not enough disk space in {out}: the build needs up to {need / 1e9:.1f} GB, {free / 1e9:.1f} GB free")
    if need >= 1e9:  # say so before hours of work, not when the disk fills
        print(
            f"datagen: {config.n:,} {config.image_format} documents take up to {need / 1e9:.1f} GB ({free / 1e9:.1f} GB free)",
            file=sys.stderr,
        )


def check_shard(out: Path, shard: Shard, verify: bool = True) -> tuple[dict[str, Any] | None, str | None]:
    """``(sidecar, None)`` for a finished shard, ``(None, why)`` otherwise.

    ``verify`` hashes the file against the sidecar's SHA-256: a same-size bit flip passes a size check,
    and a dataset scored against changed gold is silently wrong. Only a shard this process has just
    written or hashed may be checked by size alone.
    """
    sidecar = out / STATE_DIR / "shards" / f"{shard.name}.json"
    path = out / shard.path
    if not path.exists():
        return None, "missing"
    if not sidecar.exists():
        return None, "has no sidecar"
    info = _read_json(sidecar, SIDECAR_KEYS)
    if info is None:
        return None, f"sidecar {STATE_DIR}/shards/{sidecar.name} is damaged"
    if info["bytes"] != path.stat().st_size:
        return None, "size differs from its sidecar"
    if verify and info["sha256"] != sha256_file(path):
        return None, "checksum differs from its sidecar"
    return info, None


def finished_shard(out: Path, shard: Shard, verify: bool = True) -> dict[str, Any] | None:
    """The sidecar of a finished, intact shard; None if it is missing or damaged (see ``check_shard``)."""
    return check_shard(out, shard, verify)[0]


def check_shards(
    out: Path, shards: list[Shard], trusted: frozenset[str] = frozenset()
) -> list[tuple[Shard, dict[str, Any] | None, str | None]]:
    """``check_shard`` for many shards, hashing on every core (hashlib releases the GIL); ``trusted``
    names shards this process has just written or hashed, checked by size only."""
    from concurrent.futures import ThreadPoolExecutor

    hashed = sum(1 for s in shards if s.name not in trusted and (out / s.path).exists())
    bar = tqdm(total=len(shards), desc="verifying shard checksums", unit="shard", leave=False, disable=hashed < 8)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = []
        for shard, (info, problem) in zip(
            shards, pool.map(lambda s: check_shard(out, s, verify=s.name not in trusted), shards), strict=True
        ):
            results.append((shard, info, problem))
            bar.update()
    bar.close()
    return results


def stray_shards(out: Path, plan: list[Shard]) -> list[str]:
    """Parquet files in ``data/`` that are not shards of the plan: ``load_dataset`` would read them too."""
    planned = {s.path for s in plan}
    return sorted(p.name for p in (out / "data").glob("*.parquet") if f"data/{p.name}" not in planned)


def describe_problems(problems: list[str]) -> str:
    """``a (why), b (why), … and N more``: the first few of a list, for a one-line error."""
    shown = ", ".join(problems[:3])
    return shown + (f" and {len(problems) - 3} more" if len(problems) > 3 else "")


def shard_lock(out: Path, name: str) -> FileLock:
    """The lock a run holds while it builds shard ``name`` of ``out`` (see the module docstring)."""
    path = out / STATE_DIR / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path)


def remove_dead_temps(out: Path) -> None:
    """Remove the temporary shard files of dead runs: those whose shard lock nobody holds.

    A live writer holds its shard's lock for as long as its temporary file exists, so a file whose lock
    can be taken was left by a run that was killed (another slice's work in progress is never touched).
    """
    for tmp in (out / "data").glob(".*.tmp"):
        name = tmp.name[1:].split(".parquet.", 1)[0]
        try:
            with shard_lock(out, name).acquire(timeout=0):
                tmp.unlink(missing_ok=True)
        except Timeout:
            continue


def finalize_build(out: Path, trusted: frozenset[str] = frozenset()) -> Path:
    """Check every shard of the plan against its sidecar's checksum, then write the statistics and the card.

    ``trusted``: shards this process has just written or hashed (see ``check_shards``).
    """
    state = read_state(out)
    plan = shard_plan(BuildConfig.from_json(state["config"]))
    if (out / "data").is_dir():
        remove_dead_temps(out)
    checked = check_shards(out, plan, trusted)
    problems = [f"{shard.name} ({problem})" for shard, _, problem in checked if problem is not None]
    if problems:
        raise DatagenError(
            f"{out}: {len(problems)} shard(s) missing or damaged: {describe_problems(problems)}; rerun the build (or its slices) to rebuild them"
        )
    stray = stray_shards(out, plan)
    if stray:
        raise DatagenError(f"{out}/data holds files that are not shards of this build: {describe_problems(stray)}; move them out")
    public = {k: state[k] for k in ("config", "config_hash", "inputs", "generator_version", "command", "budgets") if k in state}
    try:
        write_atomic(out / CONFIG_FILE, json.dumps(public, indent=1).encode())  # read by datagen.lazy
        return write_card(out, state, [info for _, info, _ in checked if info is not None])  # all of them: no problems
    except OSError as exc:  # a full disk: every shard is safe, only the card is missing; merge writes it
        raise DatagenError(
            f"cannot write the card of {out}: {exc.strerror or exc}; free some space and run 'datagen merge {out}'"
        ) from None


def verify_build(out: Path, splits: tuple[str, ...] | None = None) -> int:
    """Check ``out`` (or only ``splits`` of it) for every way a build can be incomplete or damaged.

    Raises DatagenError naming what is wrong (state, missing or damaged shards, stray files); returns
    the number of documents checked.
    """
    state = read_state(out)
    plan = [s for s in shard_plan(BuildConfig.from_json(state["config"])) if splits is None or s.split in splits]
    problems = [f"{shard.path} ({problem})" for shard, _, problem in check_shards(out, plan) if problem is not None]
    problems += [
        f"data/{name} (not a shard of this build)" for name in stray_shards(out, plan) if splits is None or name.split("-")[0] in splits
    ]
    if problems:
        raise DatagenError(
            f"{out}: {len(problems)} problem(s): {describe_problems(problems)}; rerun the build command to rebuild damaged shards"
        )
    return sum(s.stop - s.start for s in plan)

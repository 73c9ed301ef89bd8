"""``datagen publish``: check a finished build and upload it to the Hugging Face Hub.

The check is the same with and without ``--dry-run``: the card's YAML parses, its splits and sizes match
the shard files, every planned shard is present with the checksum its sidecar recorded, and the Hub's
limits hold (files per folder, file sizes). Only then is anything uploaded, with
``HfApi.upload_large_folder`` (resumable, chunked commits) and the token from the usual place
(``HF_TOKEN`` or ``huggingface-cli login``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datagen.build_plan import BuildConfig, shard_plan
from datagen.build_state import read_state, verify_build
from datagen.card import read_card_yaml
from datagen.errors import DatagenError
from datagen.io import CONFIG_FILE

UPLOAD_PATTERNS = ["README.md", CONFIG_FILE, "dataset_stats.json", "data/*.parquet"]
MAX_FILES_PER_FOLDER = 10_000  # Hub guidance
MAX_FILE_BYTES = 50 * 1024**3  # Hub hard limit per file


@dataclass
class UploadPlan:
    files: list[Path]
    total_bytes: int


def check_folder(out: Path) -> UploadPlan:
    """Everything ``publish`` verifies before uploading; raises DatagenError naming the problem."""
    state = read_state(out)
    card_file = out / "README.md"
    if not card_file.exists():
        raise DatagenError(f"{out} has no card: finish the build or run 'datagen merge {out}'")
    plan = shard_plan(BuildConfig.from_json(state["config"]))
    verify_build(out)  # every shard against its checksum, no stray files
    try:
        card = read_card_yaml(card_file)
    except Exception as exc:  # the Hub's own parser: any failure means the card is unusable
        raise DatagenError(f"{card_file}: card YAML does not parse: {exc}") from None
    rows = {s.split: 0 for s in plan}
    for s in plan:
        rows[s.split] += s.stop - s.start
    declared = {sp["name"]: sp["num_examples"] for sp in card.get("dataset_info", {}).get("splits", [])}
    if declared != rows:
        raise DatagenError(f"{card_file}: card declares splits {declared}, shards hold {rows}")
    globs = {f["split"]: f["path"] for c in card.get("configs", []) for f in c.get("data_files", [])}
    for split in rows:
        if not list(out.glob(globs.get(split, "\0"))):
            raise DatagenError(f"{card_file}: no data_files entry of the card matches the {split} shards")
    data_files = sorted((out / "data").glob("*.parquet"))
    if len(data_files) > MAX_FILES_PER_FOLDER:
        raise DatagenError(
            f"{out}/data holds {len(data_files)} files; the Hub allows {MAX_FILES_PER_FOLDER} per folder (use a larger --shard-size)"
        )
    too_big = [p for p in data_files if p.stat().st_size > MAX_FILE_BYTES]
    if too_big:
        raise DatagenError(f"{too_big[0]} is larger than the Hub's 50 GB per-file limit")
    files = [out / name for name in ("README.md", CONFIG_FILE, "dataset_stats.json") if (out / name).exists()] + data_files
    return UploadPlan(files, sum(p.stat().st_size for p in files))


def publish(out: Path, repo_id: str, private: bool = False, dry_run: bool = False) -> UploadPlan:
    plan = check_folder(out)
    if dry_run:
        return plan
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi()
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_large_folder(repo_id=repo_id, folder_path=out, repo_type="dataset", private=private, allow_patterns=UPLOAD_PATTERNS)
    except (HfHubHTTPError, OSError, ValueError) as exc:
        raise DatagenError(f"upload to {repo_id} failed: {str(exc).splitlines()[0]}") from None
    return plan

"""The reference models shipped inside the package, so ``pip-bench evaluate pip-ref`` works right after
install with no training and no download.

``ar-ref``, ``pip-ref`` (span answers) and ``pip-ref-tokens`` (the masks spell each value, the paper's form)
are ordinary ``save_pretrained`` directories under ``benchmark/models/`` (weights in float16, model cards
next to them). A name stands for a shipped model only when no folder of that name
exists where the command runs, so a user's own ``./pip-ref`` still wins.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED = Path(__file__).parent / "models"


def shipped_names() -> list[str]:
    return sorted(p.name for p in SHIPPED.iterdir() if (p / "config.json").is_file()) if SHIPPED.is_dir() else []


def resolve_model(model_id: str) -> str:
    """The shipped model's directory for a shipped name (``ar-ref``, ``pip-ref``, …); any other id unchanged."""
    if model_id in shipped_names() and not Path(model_id).exists():
        return str(SHIPPED / model_id)
    return model_id

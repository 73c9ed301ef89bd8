"""Real KIE datasets in, standard formats out: one module per format, each with ``read`` and ``write``.

- ``read(path: str, problems: Problems) -> Iterator[Imported]``: every document of the source (a folder,
  or for Hub-style formats a dataset folder or Hub id) converted to the project's record
  (``datagen.formats.common.make_record``). A malformed file goes to ``problems.report`` (skipped and
  named, or fatal with ``--strict``) and the rest of the source is still read.
- ``write(rows: Iterable[Row], out: Path) -> int``: the rows of a project dataset in the format, into
  the (new, empty) folder ``out``; returns the number of documents written. Callers make it atomic.

Adding a format = one module here with both functions, its entry in ``FORMATS`` and a round-trip test.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from datagen.errors import DatagenError

FORMATS: dict[str, str] = {
    "sroie": "ICDAR 2019 SROIE: image + OCR box file (8 coordinates and text per line) + key file (JSON) per receipt",
    "cord": "CORD v2 / Donut: Hub-style dataset with image and ground_truth JSON (gt_parse, valid_line)",
    "funsd": "FUNSD: image + form JSON (entities with words, boxes, labels and links) per document",
    "layoutlm": "token classification: Hub-style dataset with tokens, bboxes (0-1000), BIO ner_tags per field key, image",
}


def format_module(name: str) -> ModuleType:
    """The module implementing format ``name``; an unknown name is a user error."""
    if name not in FORMATS:
        raise DatagenError(f"unknown format {name!r} (known: {', '.join(FORMATS)})")
    return importlib.import_module(f"datagen.formats.{name}")

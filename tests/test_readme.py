"""The README's examples are what the code produces: a record shown there is rendered here and compared."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from datagen.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def _shown_prefix(shown: Any, actual: Any) -> None:
    """``shown`` equals ``actual``, where a list may end in ``"..."`` for the items left out."""
    if isinstance(shown, list) and shown and shown[-1] == "...":
        assert isinstance(actual, list) and len(actual) >= len(shown) - 1
        for s, a in zip(shown[:-1], actual, strict=False):
            _shown_prefix(s, a)
    else:
        assert shown == actual


def test_the_record_in_the_readme_is_what_render_writes(tmp_path):
    section = README.read_text().split("## What a record contains", 1)[1]
    shown = json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))
    template, seed = shown["template_id"], shown["seed"]
    assert main(["render", "--template", template, "--seed", str(seed), "--out", str(tmp_path)]) == 0
    actual = json.loads((tmp_path / f"{template.replace('/', '_')}_{seed}.json").read_text())
    assert set(shown) == set(actual)  # every key of the record is shown
    for key, value in shown.items():
        _shown_prefix(value, actual[key])

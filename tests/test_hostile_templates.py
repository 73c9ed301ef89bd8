"""Hostile or careless templates (issue #22 item 4): each one is refused with ONE located line and exit code 2
by both ``datagen templates validate`` and ``datagen render``, instead of hanging, allocating gigabytes or
printing a traceback. Every bound is in ``datagen.limits`` and docs/templates.md ("Limits")."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from datagen.cli import main
from datagen.layout import Overflow, layout_document
from datagen.limits import MAX_ITEMS, MAX_TEMPLATE_BYTES
from datagen.pipeline import make_layout
from datagen.sample import Sampler
from datagen.template import load_template
from tests.helpers import minimal, write_template

HANG_GUARD_S = 20  # only a guard against a hang; no test asserts how fast anything is


@pytest.fixture(autouse=True)
def hang_guard() -> Iterator[None]:
    """Fail (instead of hanging the suite) if a case runs for HANG_GUARD_S seconds."""

    def hung(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still running after {HANG_GUARD_S} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG_GUARD_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _edit(change: Callable[[dict[str, Any]], object]) -> str:
    """The test template (tests.helpers.minimal) with one change, as YAML text."""
    data = minimal()
    change(data)
    return yaml.safe_dump(data, sort_keys=False)


def _nested_boxes(depth: int) -> str:
    """The blocks as ``depth`` boxes inside each other, written in flow style (a block tree this deep is
    too deep for yaml.safe_dump's recursion, which is the point)."""
    text = _edit(lambda d: d.__setitem__("blocks", ["@"]))
    return text.replace("'@'", "{type: box, children: [" * depth + "{type: text, field: company}" + "]}" * depth)


def _alias_bomb() -> str:
    """Seven lines of aliases to aliases: 10^6 blocks from under 2 KB ("billion laughs")."""
    bomb = "- &b0 {type: spacer, height_pt: [1, 1]}\n"
    bomb += "".join(f"- &b{i} {{type: box, p: 0, children: [{', '.join([f'*b{i - 1}'] * 10)}]}}\n" for i in range(1, 7))
    return _edit(lambda d: None).replace("blocks:\n", "blocks:\n" + bomb, 1)


def _latin1() -> bytes:
    """A label with an é saved as Latin-1 (a byte that is not UTF-8), as an editor set to Latin-1 would."""
    return _edit(lambda d: None).replace("Item", "Café").encode("latin-1")


def _a4_with(**items: Any) -> Callable[[dict[str, Any]], object]:
    return lambda d: d.update(page={"size": "a4", "margin_mm": [12, 20]}) or d["items"].update(items)


def _set(*path: Any, value: Any) -> Callable[[dict[str, Any]], object]:
    def change(d: dict[str, Any]) -> None:
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value

    return change


HOSTILE: dict[str, str | bytes] = {
    "count 1e9": _edit(_set("items", "count", value=[10**9, 10**9])),
    "count 1,000 on a page": _edit(_a4_with(count=[1000, 1000])),
    "alias bomb": _alias_bomb(),
    "faker args 3e8 chars": _edit(
        _set("fields", "company", value={"faker": "pystr", "args": {"min_chars": 3 * 10**8, "max_chars": 3 * 10**8}})
    ),
    "faker value too long": _edit(_set("fields", "company", value={"faker": "bothify", "args": {"text": "#" * 1001}})),
    "faker call fails": _edit(_set("fields", "company", value={"faker": "bothify", "args": {"text": "??", "letters": ""}})),
    "roll width 0": _edit(_set("page", "width_mm", value=[0, 0])),
    "roll width huge": _edit(_set("page", "width_mm", value=[1e9, 1e9])),
    "margins eat the page": _edit(_set("page", "margin_mm", value=[40, 40])),
    "font size 0": _edit(_set("style", "size_pt", value=[0, 0])),
    "font size negative": _edit(_set("style", "size_pt", value=[-5, -1])),
    "scale huge": _edit(_set("blocks", 0, "scale", value=[1e9, 1e9])),
    "spacer huge": _edit(lambda d: d["blocks"].insert(0, {"type": "spacer", "height_pt": [1e300, 1e300]})),
    "spacer inf": _edit(lambda d: d["blocks"].insert(0, {"type": "spacer", "height_pt": [float("inf"), float("inf")]})),
    "locale unknown to Babel": _edit(_set("locales", value=["en_US", "dk_DK"])),
    "currency XYZ": _edit(_set("currency", value={"en_US": "XYZ"})),
    "date 99999999999999 days": _edit(_set("fields", "date", value={"date": [0, 99999999999999]})),
    "expr 99999999999999 days": _edit(_set("fields", "date", value={"expr": "99999999999999 days"})),
    "date arithmetic out of range": _edit(
        lambda d: d["vars"].__setitem__("d0", {"date": [0, 0]}) or d["fields"].__setitem__("date", {"expr": "d0 + days(73050 * 100)"})
    ),
    "money .inf": _edit(_set("items", "columns", "unit_price", value={"money": [float("inf"), float("inf")]})),
    "money .nan": _edit(_set("items", "columns", "unit_price", value={"money": [float("nan"), float("nan")]})),
    "places 1e8": _edit(_set("vars", "tax_rate", value={"decimal": [0, 1], "places": 10**8})),
    "choice 1e300": _edit(_set("vars", "tax_rate", value={"choice": [1e300]})),
    "no fonts to choose from": _edit(_set("style", "fonts", value=[])),
    "expression of 20,000 terms": _edit(_set("fields", "total", value={"expr": " + ".join(["subtotal"] * 20_000)})),
    "expression nested 100 deep": _edit(_set("fields", "total", value={"expr": "-" * 100 + "subtotal"})),
    "blocks nested 11 deep": _nested_boxes(11),
    "blocks nested 3,000 deep": _nested_boxes(3000),
    "YAML nested 20,000 deep": _edit(lambda d: None) + "extra: " + "[" * 20_000 + "]" * 20_000 + "\n",
    "not UTF-8": _latin1(),
    "control character": _edit(lambda d: None).replace("Item", "It\x01em"),
    "file too large": _edit(_set("description", value="x" * MAX_TEMPLATE_BYTES)),
    "never fits its page": _edit(
        lambda d: (
            _a4_with(count=[MAX_ITEMS, MAX_ITEMS])(d)
            or d["blocks"].extend([{"type": "spacer", "height_pt": [1000, 1000]}, {"type": "text", "field": "company"}])
        )
    ),
}


@pytest.mark.parametrize("command", ["validate", "render"])
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_template_is_one_located_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, command: str) -> None:
    path = tmp_path / "t.yaml"
    content = HOSTILE[case]
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    if command == "validate":
        argv = ["templates", "validate", str(path)]
    else:
        argv = ["render", "--template", str(path), "--out", str(tmp_path / "out"), "--image-format", "none", "--no-pdf"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert re.match(rf"datagen: error: {re.escape(str(path))}:\d+: \S", err), err


def test_items_at_the_maximum_count_render(tmp_path: Path) -> None:
    """MAX_ITEMS is a valid count: all of them on a roll (which grows), as many as fit on a page."""
    roll = load_template(write_template(tmp_path, _edit(_set("items", "count", value=[MAX_ITEMS, MAX_ITEMS])), "roll.yaml"))
    doc, layout = make_layout(roll, 0)
    assert len(doc.items) == MAX_ITEMS
    assert main(["render", "--template", str(roll.source), "--out", str(tmp_path / "out"), "--image-format", "none", "--no-pdf"]) == 0

    page = load_template(write_template(tmp_path, _edit(_a4_with(count=[MAX_ITEMS, MAX_ITEMS])), "page.yaml"))
    doc, layout = make_layout(page, 0)
    assert 0 < len(doc.items) < MAX_ITEMS
    assert max(w.y1 for w in layout.words) <= layout.height


def test_overflow_keeps_the_largest_item_count_that_fits(tmp_path: Path) -> None:
    """Cutting one sample (instead of sampling again per count) keeps what dropping items one at a time
    kept: the largest count whose layout fits, with every larger count overflowing."""
    template = load_template(write_template(tmp_path, _edit(_a4_with(count=[40, 90])), "page.yaml"))
    for seed in range(3):
        doc, _ = make_layout(template, seed)
        sampler = Sampler(template, seed)
        assert sampler.item_count > len(doc.items)  # the page overflowed: items were dropped
        for more in range(len(doc.items) + 1, sampler.item_count + 1):
            with pytest.raises(Overflow):
                layout_document(sampler.document(more))
        kept = sampler.document(len(doc.items))
        assert (kept.values, kept.items) == (doc.values, doc.items)
        assert doc.typed["subtotal"] == sum((row["amount"] for row in doc.typed["items"]), 0)

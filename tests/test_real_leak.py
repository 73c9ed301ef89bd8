"""No string of the real data may enter the generator: shop names and addresses of the real receipts in
``../shared/real/sroie-dev`` (measuring only, see its README) must not appear in ``templates/`` or ``datagen/``.

A company is looked for whole, and by its distinctive core: the name without the words any shop may carry
(legal suffixes, trade words, prefixes such as RESTORAN, a branch in brackets, a registration number), when
that core is still specific (two words or more, or one word of 6+ characters). "LIM KOK WING MACHINERY
ENTERPRISE" (a made-up example) leaks as "LIM KOK WING" in a list of name stems. Generic words are removed
from both ends only, so the core is a run of words that was printed together. Matching is case-insensitive,
with whitespace collapsed and ignored around punctuation ("MR. D. I. Y." is "MR.D.I.Y."), on whole words.

Failure messages name the file that leaks and the real file it matches (and the core, never a whole address).
Without the real data (it is not part of the repository) the test is skipped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "real" / "sroie-dev"
SCANNED = ("templates", "datagen")

# Words any shop may carry: legal forms, trade and business-kind words, Malay prefixes ("RESTORAN", "KEDAI",
# "DIMILIKI OLEH" = "owned by"), connectives. Removing them leaves what names one particular shop.
GENERIC = frozenset(
    (
        *("sdn", "bhd", "sdn.", "bhd.", "sdn.bhd", "sdn.bhd.", "s/b", "sb", "berhad", "plt", "co", "co.", "company"),
        *("enterprise", "enterprises", "trading", "traders", "holdings", "resources", "international", "malaysia"),
        *("restoran", "restaurant", "kedai", "runcit", "syarikat", "perniagaan", "dimiliki", "oleh", "owner"),
        *("hardware", "marketing", "stationery", "stationer", "machinery", "bakery", "bakeries", "confectionery"),
        *("pharmacy", "farmasi", "bookstore", "bookstores", "books", "supplies", "electrical", "services", "service"),
        *("retail", "distributor", "shop", "store", "centre", "center", "cafe", "mart"),
        *("the", "and", "&", "n", "-", "in", "of", "at", "by"),
    )
)
_BRACKETS = re.compile(r"\([^)]*\)")  # a branch or registration number: (M), (KL), (123456-X)
_REG_NO = re.compile(r"^\(?\d{4,}[-\w]*\)?$")  # 519537-X, 201901012345
_SPACE = re.compile(r"\s+")
_PUNCT_SPACE = re.compile(r"\s*([.,&/()'\-])\s*")


def normalise(text: str) -> str:
    """Casefold, collapse whitespace, and drop the spaces around punctuation."""
    return _PUNCT_SPACE.sub(r"\1", _SPACE.sub(" ", text.casefold())).strip()


def core(company: str) -> str | None:
    """The distinctive part of a shop's name, or None when what is left is too short to name a shop."""
    words = [w for w in _BRACKETS.sub(" ", company.casefold()).split() if not _REG_NO.match(w)]
    while words and words[0] in GENERIC:
        words.pop(0)
    while words and words[-1] in GENERIC:
        words.pop()
    rest = " ".join(words).strip(" .,&-")
    if len(rest.split()) >= 2 or len(rest) >= 6:
        return rest
    return None


class RealValues(list):
    """(entities file, key, needle, is_core) tuples, with a repr that shows none of them (tracebacks print it)."""

    def __repr__(self) -> str:
        return f"<{len(self)} real values>"


def real_values(root: Path = REAL) -> RealValues:
    """Every company, company core and address of the real data."""
    out = RealValues()
    for path in sorted(root.glob("*/entities/*.txt")):
        data = json.loads(path.read_text(encoding="utf-8"))
        name = f"{path.parent.parent.name}/{path.name}"
        for key in ("company", "address"):
            value = (data.get(key) or "").strip()
            if value:
                out.append((name, key, normalise(value), False))
        c = core(data.get("company") or "")
        if c:
            out.append((name, "company", normalise(c), True))
    return out


def scanned_files(root: Path = ROOT) -> dict[str, str]:
    """Every text file (source and data) under templates/ and datagen/, normalised; binary files are skipped."""
    out = {}
    for folder in SCANNED:
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            raw = path.read_bytes()
            if b"\0" in raw:  # fonts and other binaries
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                continue
            out[str(path.relative_to(root))] = normalise(text)
    return out


def leaks(files: dict[str, str], values: RealValues) -> list[str]:
    """One line per (file, real value) found in it as whole words; the line names a core, never a whole value."""
    found = []
    needles: dict[str, tuple[str, str, bool]] = {}
    for name, key, needle, is_core in values:
        needles.setdefault(needle, (name, key, is_core))
    for rel, text in files.items():
        for needle, (name, key, is_core) in needles.items():
            if needle not in text:
                continue
            if re.search(rf"(?<![\w]){re.escape(needle)}(?![\w])", text):
                what = f"the core {needle!r} of the {key}" if is_core else f"the whole {key}"
                found.append(f"{rel}: {what} of real receipt {name}")
    return found


@pytest.fixture(scope="module")
def values() -> RealValues:
    if not (REAL / "train" / "entities").is_dir() and not (REAL / "test" / "entities").is_dir():
        pytest.skip(f"no real data at {REAL} (it is not part of the repository; see docs/dataset-format.md)")
    found = real_values()
    assert found, f"{REAL} has no entities/*.txt with a company or address"
    return found


def test_core_keeps_what_names_a_shop():
    assert core("LIM KOK WING MACHINERY ENTERPRISE") == "lim kok wing"
    assert core("RESTORAN LIM KOK WING") == "lim kok wing"
    assert core("KEDAI RUNCIT ABC") is None  # three letters name no one shop
    assert core("PUT IN ENTERPRISE") is None  # "put" is all that is left: a phrase, not a name
    assert core("M.R. X.Y.Z. (M) SDN BHD") == "m.r. x.y.z"
    assert core("TOKO SERBAGUNA TRADING (KLANG) SDN. BHD. (123456-X)") == "toko serbaguna"
    assert core("TOKO AND SONS TRADING") == "toko and sons"  # generic words inside the name stay
    assert core("EXAMPLEMART S/B") == "examplemart"
    assert normalise("BOOK  TA .K") == normalise("Book Ta.K") == "book ta.k"


def test_leaks_finds_whole_words_only():
    values = RealValues([("train/X1.txt", "company", normalise("LIM KOK WING"), True)])
    assert leaks({"a.py": normalise('STEMS = ("LIM  KOK WING", "X")')}, values) == [
        "a.py: the core 'lim kok wing' of the company of real receipt train/X1.txt"
    ]
    assert leaks({"a.py": normalise('"LIM", "KOK", "WING"  # LIM KOK WINGS')}, values) == []
    assert repr(values) == "<1 real values>"  # a failing test's traceback shows no real string


def test_no_real_shop_name_or_address_in_templates_or_datagen(values):
    found = leaks(scanned_files(), values)
    assert not found, "strings of the real receipts in the generator:\n" + "\n".join(found[:20])

"""The shipped subword tokenizer (datagen/tokenizer/, built by scripts/train_tokenizer.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import AutoTokenizer

import datagen

TOKENIZER_DIR = Path(datagen.__file__).resolve().parent / "tokenizer"
VOCAB_SIZE = 8192  # scripts/train_tokenizer.py --vocab-size (default)
SPECIALS = ["[pad]", "[unk]", "<s>", "</s>", "[mask]"]

ROUND_TRIP = [
    "Straße 5, 80331 München",
    "1 234,50 €",
    "RM12.50",
    "Côte d'Ivoire",
    '{"invoice_no": "INV-2025-0042", "total": "1.234,50", "due_date": null}',
    '[{"description": "Café crème", "quantity": "2", "unit_price": "3,20", "amount": "6,40"}]',
    "  two  spaces , before punctuation .\nnew line\ttab",
    "Ελληνικά, 日本語, emoji 🧾",
]


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(str(TOKENIZER_DIR), local_files_only=True)


def test_folder_is_small_and_location_independent():
    names = {p.name for p in TOKENIZER_DIR.iterdir()}
    assert {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"} <= names
    assert sum(p.stat().st_size for p in TOKENIZER_DIR.iterdir()) < 1_000_000
    config = json.loads((TOKENIZER_DIR / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert "name_or_path" not in config
    assert config["model_max_length"] == 4096


def test_loads_fast_with_configured_vocab(tok):
    assert tok.is_fast
    assert tok.vocab_size == VOCAB_SIZE
    assert len(tok) == VOCAB_SIZE


def test_special_tokens_are_ids_0_to_4(tok):
    assert tok.convert_ids_to_tokens(list(range(5))) == SPECIALS
    assert (tok.pad_token, tok.unk_token, tok.bos_token, tok.eos_token, tok.mask_token) == tuple(SPECIALS)
    assert (tok.pad_token_id, tok.unk_token_id, tok.bos_token_id, tok.eos_token_id, tok.mask_token_id) == (0, 1, 2, 3, 4)


def test_mask_is_one_token_even_inside_text(tok):
    assert tok.encode("[mask]", add_special_tokens=False) == [4]
    ids = tok.encode('{"total": [mask][mask]}', add_special_tokens=False)
    assert ids.count(4) == 2
    assert tok.decode(ids) == '{"total": [mask][mask]}'


def test_no_special_tokens_added_implicitly(tok):
    assert tok.encode("Total 12,50", add_special_tokens=True) == tok.encode("Total 12,50", add_special_tokens=False)


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_round_trip_is_exact(tok, text):
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.unk_token_id not in ids
    assert tok.decode(ids) == text
    assert tok.convert_tokens_to_string(tok.convert_ids_to_tokens(ids)) == text


@pytest.mark.parametrize(
    ("text", "most"),
    [
        ("1,234.50", 6),  # measured: 5
        ("1.234,50", 6),  # measured: 5
        ("27/06/2025", 6),  # measured: 5
        ("2025-06-27", 6),  # measured: 5
        ("RM12.50", 5),  # measured: 4
    ],
)
def test_typical_values_are_short(tok, text, most):
    assert len(tok.encode(text, add_special_tokens=False)) <= most

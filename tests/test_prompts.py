"""Prompt formats round-trip: prompt/target -> parsed fields, for the shipped and a second tokenizer."""

from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from datagen.build_plan import DEFAULT_TOKENIZER, load_tokenizer
from datagen.doctypes import DOC_TYPES
from datagen.pipeline import generate
from datagen.prompts import (
    MASK,
    UNKNOWN,
    ar_prompt,
    ar_target,
    chat_messages,
    compute_budgets,
    document_text,
    encode_all,
    instruction,
    parse_ar,
    parse_pip,
    parse_pip_prompt,
    pip_instruction,
    pip_prompt,
    pip_target_ids,
    pip_targets,
    span_budgets,
)
from datagen.template import list_templates, load_template


@pytest.fixture(scope="module")
def records() -> list[dict]:
    out = []
    for path in list_templates():
        template = load_template(path)
        out += [generate(template, seed, width=200, raster=False).record for seed in range(3)]
    return out


@pytest.fixture(scope="module")
def char_tokenizer() -> PreTrainedTokenizerFast:
    """A second, very different tokenizer: byte-level with almost no merges (about one token per byte)."""
    tok = Tokenizer(models.BPE(unk_token="[unk]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["[pad]", "[unk]", "<s>", "</s>", MASK], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(["ab"], trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[pad]", mask_token=MASK, unk_token="[unk]")


def _values(record: dict) -> dict[str, str | None]:
    return {f["key"]: f["value"] for f in record["fields"]}


def test_ar_round_trip_and_chat(records):
    for record in records:
        target = ar_target(record["fields"])
        values, ok = parse_ar("Sure! " + target + " hope this helps", record["doc_type"])
        assert ok and values == _values(record)
        messages = chat_messages(record["doc_type"], target)
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert [c["type"] for c in messages[0]["content"]] == ["image", "text"]
        assert json.loads(messages[1]["content"][0]["text"]) == _values(record)
        prompt = ar_prompt(record["doc_type"], document_text(record["words"], record["line_ids"]))
        assert all(key in prompt for key in DOC_TYPES[record["doc_type"]])


def test_malformed_ar_output_is_a_parse_failure_not_a_crash():
    values, ok = parse_ar("no json here", "receipt")
    assert not ok and set(values.values()) == {None}
    # one broken value costs its field, the well-formed pairs around it are still read
    values, ok = parse_ar('{"company": "ACME \\"Ltd\\"", "date": "12/03/2024", "address": "1 Main St", "total": "9.99", "tax', "receipt")
    assert not ok and values["company"] == 'ACME "Ltd"' and values["date"] == "12/03/2024" and values["total"] == "9.99"
    values, ok = parse_ar('{"company": "A", "company": "B", "phone": null, "total": 12.5 "cashier": "x}', "receipt")
    assert not ok and values["company"] == "A" and values["phone"] is None and values["total"] is None and values["cashier"] is None


@pytest.mark.parametrize("which", ["shipped", "second"])
def test_pip_round_trip(records, char_tokenizer, which):
    tokenizer = load_tokenizer("default") if which == "shipped" else char_tokenizer
    unknown = len(tokenizer.encode(UNKNOWN, add_special_tokens=False))
    for doc_type in DOC_TYPES:
        mine = [r for r in records if r["doc_type"] == doc_type]
        lengths = {
            k: [
                len(tokenizer.encode(f["value"], add_special_tokens=False))
                for r in mine
                for f in r["fields"]
                if f["key"] == k and f["present"]
            ]
            for k in DOC_TYPES[doc_type]
        }
        budgets = compute_budgets(lengths, unknown, percentile=100)  # every value of this sample fits
        for record in mine:
            prompt = pip_prompt(doc_type, document_text(record["words"], record["line_ids"]), budgets)
            assert parse_pip_prompt(prompt, doc_type) == budgets
            assert prompt.count(MASK) == sum(budgets.values())
            ids, overflow = pip_target_ids(pip_targets(doc_type, record["fields"]), DOC_TYPES[doc_type], budgets, tokenizer)
            assert overflow == [] and [len(x) for x in ids] == [budgets[k] for k in DOC_TYPES[doc_type]]
            assert parse_pip(ids, doc_type, tokenizer) == _values(record)


def test_values_over_budget_are_cut_and_reported(char_tokenizer):
    fields = [
        {"key": k, "value": "x" * 40 if k == "company" else None, "present": k == "company", "word_ids": []} for k in DOC_TYPES["receipt"]
    ]
    budgets = dict.fromkeys(DOC_TYPES["receipt"], 10)
    ids, overflow = pip_target_ids(pip_targets("receipt", fields), DOC_TYPES["receipt"], budgets, char_tokenizer)
    assert overflow == ["company"]
    assert all(len(x) == 10 for x in ids)


def test_budget_is_a_percentile_and_covers_unknown():
    budgets = compute_budgets({"a": list(range(1, 201)), "b": [], "c": [1, 1, 1]}, unknown_len=2, percentile=99.5)
    assert budgets == {"a": 199, "b": 2, "c": 2}


def test_shipped_tokenizer_is_the_default():
    assert load_tokenizer("default").name_or_path == DEFAULT_TOKENIZER


def test_encode_all_is_not_padded_by_an_earlier_padded_call():
    """A padded ``tokenizer(..., padding=True)`` leaves padding on in the Rust backend; encode_all must not inherit it."""
    tokenizer = load_tokenizer("default")
    alone = encode_all(tokenizer, ["12.50", "a much longer value than that one"])
    tokenizer(["x", "a much longer text to pad the short one to"], padding=True)
    assert encode_all(tokenizer, ["12.50", "a much longer value than that one"]) == alone
    assert len(alone[0]) < len(alone[1])


def test_a_span_prompt_has_two_masks_a_key_and_lists_the_keys_only_in_its_slot_lines(records):
    for record in records:
        doc_type = record["doc_type"]
        prompt = pip_prompt(doc_type, document_text(record["words"], record["line_ids"]), span_budgets(doc_type), answer="span")
        assert parse_pip_prompt(prompt, doc_type) == dict.fromkeys(DOC_TYPES[doc_type], 2)
        assert pip_instruction(doc_type, "span") in prompt and instruction(doc_type) not in prompt
    with pytest.raises(ValueError, match="tokens"):
        pip_instruction("receipt", "spans")


def test_parse_ar_survives_an_answer_nested_ten_thousand_deep():
    values, ok = parse_ar('{"total": ' + "[" * 10_000 + "]" * 10_000 + ', "date": "1/2/2026"}', "receipt")
    assert not ok and values["date"] == "1/2/2026" and values["total"] is None

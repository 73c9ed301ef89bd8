"""Ground truth is read off the page: what is printed is what is labelled."""

from __future__ import annotations

from datagen.pipeline import generate
from datagen.template import Template
from datagen.validate import validate_file
from tests.helpers import minimal, write_template


def _record(tmp_path, data) -> dict:
    template: Template = validate_file(write_template(tmp_path, data))
    return generate(template, 5, "en_US", width=300, augmentations=False).record


def test_var_is_printed_but_not_ground_truth(tmp_path):
    data = minimal()
    data["vars"]["till"] = {"faker": "bothify", "args": {"text": "TILL-####"}}
    data["blocks"].insert(0, {"type": "pair", "var": "till", "label": ["Till"]})
    record = _record(tmp_path, data)
    assert record["words"][0] == "Till:" and record["words"][1].startswith("TILL-")
    linked = {i for f in record["fields"] for i in f["word_ids"]}
    assert 0 not in linked and 1 not in linked


def test_field_without_block_is_absent_and_values_are_printed_words(tmp_path):
    data = minimal()
    data["blocks"] = [b for b in data["blocks"] if b.get("field") != "address"]
    record = _record(tmp_path, data)
    fields = {f["key"]: f for f in record["fields"]}
    assert fields["address"] == {"key": "address", "value": None, "present": False, "word_ids": []}
    assert fields["cashier"]["present"] is False  # declared by no generator at all
    for f in record["fields"]:
        if f["present"]:
            assert f["value"] == " ".join(record["words"][i] for i in f["word_ids"])


def test_block_probability_zero_drops_the_field(tmp_path):
    data = minimal()
    for block in data["blocks"]:
        if block.get("field") == "total":
            block["p"] = 0.0
    fields = {f["key"]: f for f in _record(tmp_path, data)["fields"]}
    assert not fields["total"]["present"] and fields["subtotal"]["present"]


def test_line_items_are_the_printed_cells(tmp_path):
    record = _record(tmp_path, minimal())
    assert record["line_items"], "the minimal template always prints at least one item"
    for row in record["line_items"]:
        assert set(row) == {"description", "quantity", "unit_price", "amount"}
        assert all(row.values())


def test_choice_in_the_document_language_ticks_the_printed_option(tmp_path):
    data = minimal()
    data["fields"]["payment_method"] = {"choice": {"en": ["Cash", "Card"], "de": ["Bar", "Karte"]}}
    template = validate_file(write_template(tmp_path, data))
    for locale, options in (("en_US", {"Cash", "Card"}), ("de_DE", {"Bar", "Karte"})):
        for seed in range(6):
            record = generate(template, seed, locale, width=300, augmentations=False).record
            value = next(f["value"] for f in record["fields"] if f["key"] == "payment_method")
            assert value in options
            printed = set(record["words"])
            assert options <= printed  # every option is printed next to its box; the chosen one is linked


def test_check_boxes_are_words_so_text_models_can_read_the_ticked_option():
    from datagen.layout import MARK_SELECTED, MARK_UNSELECTED
    from datagen.template import load_template_cached

    template = load_template_cached("form/application")
    checked = 0
    for seed in range(12):
        gen = generate(template, seed, "en_GB", raster=False)
        words, lines = gen.record["words"], gen.record["line_ids"]
        for f in gen.record["fields"]:
            if f["key"] in ("gender", "marital_status") and f["present"]:
                first = f["word_ids"][0]
                # the ticked option's label comes right after the one selected mark, on the same line
                assert words[first - 1] == MARK_SELECTED and lines[first - 1] == lines[first]
                checked += 1
        marks = [w for w in gen.layout.words if w.mark]
        assert all(w.text in (MARK_SELECTED, MARK_UNSELECTED) for w in marks)
        assert sum(w.text == MARK_SELECTED for w in marks) == sum(
            f["present"] for f in gen.record["fields"] if f["key"] in ("gender", "marital_status")
        )
    assert checked >= 12

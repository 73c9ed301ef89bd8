"""Template validation: one test per class of error, each naming file, path and line."""

from __future__ import annotations

import pytest
import yaml

from datagen.cli import main
from datagen.errors import TemplateError
from datagen.template import load_template
from datagen.validate import validate_file
from tests.helpers import minimal, write_template


def _error(tmp_path, data) -> TemplateError:
    path = write_template(tmp_path, data)
    with pytest.raises(TemplateError) as info:
        validate_file(path)
    assert str(path) in str(info.value)
    return info.value


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_minimal_template_is_valid(tmp_path):
    t = validate_file(write_template(tmp_path, minimal()))
    assert t.id == "receipt/test-minimal"


def test_invalid_yaml_reports_line(tmp_path):
    err = _error(tmp_path, "id: receipt/x\ndoc_type: receipt\nlocales: [en_US\nfields: {}\n")
    assert "invalid YAML" in err.message
    assert err.line is not None and err.line >= 3


def test_unknown_key_reports_path_and_line(tmp_path):
    data = minimal()
    data["fields"]["company"]["fakr"] = "company"
    text = yaml.safe_dump(data, sort_keys=False)
    err = _error(tmp_path, text)
    assert err.path == "fields.company.fakr"
    assert err.line == _line_of(text, "fakr")


def test_wrong_type_and_bad_range(tmp_path):
    data = minimal()
    data["style"]["size_pt"] = [9, 7]
    err = _error(tmp_path, data)
    assert err.path.startswith("style.size_pt") or "low > high" in err.message

    data = minimal()
    data["fields"]["total"]["absent"] = 2
    err = _error(tmp_path, data)
    assert err.path == "fields.total.absent"


def test_generator_needs_exactly_one_kind(tmp_path):
    data = minimal()
    data["fields"]["company"] = {"faker": "company", "choice": ["A"]}
    err = _error(tmp_path, data)
    assert err.path == "fields.company"
    assert "exactly one" in err.message


def test_unknown_block_type(tmp_path):
    data = minimal()
    data["blocks"].append({"type": "paragraph", "field": "company"})
    err = _error(tmp_path, data)
    assert err.path.startswith("blocks[8]")


def test_key_not_in_doc_type_schema(tmp_path):
    data = minimal()
    data["fields"]["totl"] = {"expr": "total"}
    text = yaml.safe_dump(data, sort_keys=False)
    err = _error(tmp_path, text)
    assert err.path == "fields.totl"
    assert err.line == _line_of(text, "totl:")
    assert "not a key of doc type receipt" in err.message


def test_unknown_faker_provider(tmp_path):
    data = minimal()
    data["fields"]["company"] = {"faker": "compnay"}
    err = _error(tmp_path, data)
    assert err.path == "fields.company.faker"
    assert "unknown Faker provider 'compnay'" in err.message


def test_unknown_locale(tmp_path):
    data = minimal()
    data["locales"] = ["en_US", "xx_YY"]
    err = _error(tmp_path, data)
    assert err.path == "locales[1]"


def test_cyclic_dependency(tmp_path):
    data = minimal()
    data["fields"]["subtotal"] = {"expr": "total - tax"}
    err = _error(tmp_path, data)
    assert "cyclic dependency" in err.message
    assert err.path.startswith("fields.")


def test_unknown_name_in_expression(tmp_path):
    data = minimal()
    data["fields"]["total"] = {"expr": "subtotal + vat"}
    text = yaml.safe_dump(data, sort_keys=False)
    err = _error(tmp_path, text)
    assert err.path == "fields.total.expr"
    assert "unknown name 'vat'" in err.message
    assert err.line == _line_of(text, "subtotal + vat")


def test_unknown_column_and_function_and_syntax(tmp_path):
    data = minimal()
    data["fields"]["subtotal"] = {"expr": "sum(items.price)"}
    assert "unknown column items.price" in _error(tmp_path, data).message

    data = minimal()
    data["fields"]["total"] = {"expr": "ceil(subtotal)"}
    assert "unknown function 'ceil'" in _error(tmp_path, data).message

    data = minimal()
    data["fields"]["total"] = {"expr": "subtotal +* tax"}
    assert "cannot parse expression" in _error(tmp_path, data).message


def test_block_references_undeclared_field(tmp_path):
    data = minimal()
    data["blocks"].append({"type": "pair", "field": "cashier"})
    err = _error(tmp_path, data)
    assert err.path == "blocks[8].field"
    assert "does not declare" in err.message


def test_checkboxes_need_choice_generator(tmp_path):
    data = minimal()
    data["blocks"].append({"type": "checkboxes", "field": "company"})
    err = _error(tmp_path, data)
    assert err.path == "blocks[8].field"
    assert "choice" in err.message


def test_unknown_augmentation_and_bad_params(tmp_path):
    data = minimal()
    data["augment"] = {"sepia": {"p": 0.5}}
    assert "unknown augmentation 'sepia'" in _error(tmp_path, data).message

    data = minimal()
    data["augment"] = {"rotate": {"p": 1.5}}
    assert _error(tmp_path, data).path.startswith("augment.rotate")


def test_id_must_match_doc_type(tmp_path):
    data = minimal()
    data["id"] = "invoice/x"
    assert _error(tmp_path, data).path == "id"


def test_missing_glyphs_for_locale(tmp_path):
    # "marker" covers ASCII only: German values (umlauts, sharp s) cannot be printed with it.
    data = minimal()
    data["style"]["fonts"] = ["marker"]
    data["locales"] = ["de_DE"]
    data["blocks"].insert(0, {"type": "text", "text": {"en": ["Thank you"], "de": ["Vielen Dank für Ihren Einkauf"]}})
    err = _error(tmp_path, data)
    assert "lacks" in err.message and "de_DE" in err.message
    # the same template is fine in English
    data["locales"] = ["en_US"]
    validate_file(write_template(tmp_path, data))


def test_structure_only_load_skips_glyphs(tmp_path):
    data = minimal()
    data["style"]["fonts"] = ["marker"]
    data["locales"] = ["de_DE"]
    load_template(write_template(tmp_path, data))  # glyphs are checked by validate, not load


def test_cli_validate_one_line_exit_2(tmp_path, capsys):
    data = minimal()
    data["fields"]["total"] = {"expr": "subtotal + vat"}
    path = write_template(tmp_path, data)
    assert main(["templates", "validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(path) in err and "fields.total.expr" in err


def test_block_references_undeclared_var(tmp_path):
    data = minimal()
    data["blocks"].append({"type": "pair", "var": "change_due"})
    err = _error(tmp_path, data)
    assert err.path == "blocks[8].var"
    assert "does not declare under vars" in err.message


@pytest.mark.parametrize("provider", ["time", "date", "date_of_birth", "year", "credit_card_expire"])
def test_clock_dependent_faker_providers_are_refused(tmp_path, provider):
    data = minimal()
    data["fields"]["payment_method"] = {"faker": provider}
    data["blocks"] = [b for b in data["blocks"] if b.get("type") != "checkboxes"]
    err = _error(tmp_path, data)
    assert err.path == "fields.payment_method.faker" and "clock" in err.message


def test_time_generator_and_bad_time(tmp_path):
    data = minimal()
    data["fields"]["time"] = {"time": ["07:00", "21:59"]}
    data["blocks"].append({"type": "pair", "field": "time"})
    validate_file(write_template(tmp_path, data))
    data["fields"]["time"] = {"time": ["7am", "21:59"]}
    assert "is not HH:MM" in _error(tmp_path, data).message


def test_block_for_an_undeclared_locale(tmp_path):
    data = minimal()
    data["blocks"].append({"type": "pair", "field": "total", "locales": ["en_US", "fr_FR"]})
    err = _error(tmp_path, data)
    assert err.path == "blocks[8].locales[1]"
    assert "'fr_FR'" in err.message and "does not declare under locales" in err.message
    data["blocks"][-1]["locales"] = []
    assert "locales" in _error(tmp_path, data).path


def test_blocks_for_other_locales_are_skipped_without_drawing(tmp_path):
    from datagen.pipeline import make_layout

    data = minimal()
    data["vars"]["note"] = {"choice": ["German note"]}
    plain = load_template(write_template(tmp_path, data, "plain.yaml"))
    data["blocks"].insert(1, {"type": "text", "var": "note", "locales": ["de_DE"], "bold": 0.5, "scale": [0.8, 1.2]})
    filtered = load_template(write_template(tmp_path, data, "filtered.yaml"))
    for seed in range(5):
        _, without = make_layout(plain, seed, "en_US")
        _, skipped = make_layout(filtered, seed, "en_US")
        assert [(w.text, w.x0, w.y0) for w in skipped.words] == [(w.text, w.x0, w.y0) for w in without.words]
        _, german = make_layout(filtered, seed, "de_DE")
        assert "German" in [w.text for w in german.words]


def test_when_names_a_choice_and_its_values(tmp_path):
    data = minimal()
    data["vars"]["place"] = {"choice": ["top", "bottom"]}
    data["blocks"].append({"type": "pair", "field": "total", "when": {"plac": ["top"]}})
    err = _error(tmp_path, data)
    assert err.path == "blocks[8].when.plac" and "declares no var or field 'plac'" in err.message
    data["blocks"][-1]["when"] = {"tax_rate": ["0.06"]}  # a choice of numbers: nothing to name
    assert "not one of the text choices" in _error(tmp_path, data).message
    data["blocks"][-1]["when"] = {"company": ["x"]}
    assert "needs a var or field with a choice generator" in _error(tmp_path, data).message
    data["blocks"][-1]["when"] = {"place": ["top", "middle"]}
    err = _error(tmp_path, data)
    assert err.path == "blocks[8].when.place[1]" and "'middle'" in err.message
    data["blocks"][-1]["when"] = {"place": []}
    assert "when" in _error(tmp_path, data).path


def test_when_prints_a_value_in_exactly_one_place_and_skips_without_drawing(tmp_path):
    from datagen.pipeline import make_layout

    data = minimal()
    data["vars"]["place"] = {"choice": ["top", "bottom"]}
    date = data["blocks"].pop(2)
    plain = load_template(write_template(tmp_path, data, "plain.yaml"))
    data["blocks"].insert(0, {**date, "when": {"place": ["top"]}, "sep": [":", " -"], "scale": [0.9, 1.1]})
    data["blocks"].append({**date, "when": {"place": ["bottom"]}, "sep": [":", " -"], "scale": [0.9, 1.1]})
    placed = load_template(write_template(tmp_path, data, "placed.yaml"))
    seen = set()
    for seed in range(12):
        doc, layout = make_layout(placed, seed, "en_US")
        date_ids = [i for i, w in enumerate(layout.words) if w.field == "date"]
        assert " ".join(layout.words[i].text for i in date_ids) == doc.values["date"]  # once, never twice
        top = date_ids[0] < min(i for i, w in enumerate(layout.words) if w.field == "company")
        assert top == (doc.typed["place"] == "top")
        seen.add(doc.typed["place"])
        _, without = make_layout(plain, seed, "en_US")  # the skipped block drew nothing: the rest is as before
        date_lines = {layout.words[i].line for i in date_ids}
        rest = [(w.text, w.x0, w.y0) for w in layout.words if w.line not in date_lines]
        if top:  # the top block drew first, so the later labels (drawn from the label catalogue) may differ: the values may not
            assert [w.text for w in layout.words if w.line not in date_lines and (w.field or w.item)] == [
                w.text for w in without.words if w.field or w.item
            ]
        else:  # the top block, skipped, drew nothing: every word before the last block is where it was
            assert rest == [(w.text, w.x0, w.y0) for w in without.words]
    assert seen == {"top", "bottom"}


def test_same_line_columns_share_line_ids(tmp_path):
    from datagen.pipeline import make_layout

    data = minimal()
    data["fields"]["time"] = {"time": ["07:00", "21:59"]}
    cols = [[{"type": "text", "field": "date"}], [{"type": "text", "field": "time"}], [{"type": "text", "text": ["T01"]}]]
    data["blocks"][2] = {"type": "columns", "widths": [3, 2, 1], "gap_pt": 3, "children": cols}
    separate = load_template(write_template(tmp_path, data, "separate.yaml"))
    data["blocks"][2]["same_line"] = True
    shared = load_template(write_template(tmp_path, data, "shared.yaml"))
    for seed in range(3):
        _, a = make_layout(separate, seed, "en_US")
        _, b = make_layout(shared, seed, "en_US")
        assert [(w.text, w.x0, w.y0) for w in a.words] == [(w.text, w.x0, w.y0) for w in b.words]  # same geometry
        line = {w.text: w.line for w in b.words}
        date_line = next(w.line for w in b.words if w.field == "date")
        assert next(w.line for w in b.words if w.field == "time") == line["T01"] == date_line
        assert len({w.line for w in a.words if w.field in ("date", "time")}) == 2
        last = max(i for i, w in enumerate(b.words) if w.field in ("date", "time") or w.text == "T01")
        assert b.words[last + 1].line == max(w.line for w in b.words[: last + 1]) + 1  # the lines after follow on


def test_literal_types_list_exactly_the_doc_types_and_bundled_font_families():
    from typing import get_args

    from datagen.doctypes import DOC_TYPES, DocType
    from datagen.fonts import FAMILIES, Family

    assert get_args(DocType) == tuple(DOC_TYPES)  # in order: a validation error lists them so
    assert get_args(Family) == tuple(FAMILIES)

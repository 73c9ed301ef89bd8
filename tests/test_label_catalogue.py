"""The label catalogue (``templates/labels/<lang>.yaml``): translations written once, a template's own wording first.

A field's or var's label in a document's language is the template's own list for that language, else the
catalogue's entry for its key (or ``label_key``); a labelled field with neither for one of the template's
locales is refused when the template loads, in one line naming the file, the field and the language.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from datagen.errors import TemplateError
from datagen.pipeline import make_layout
from datagen.template import LABEL_DIR, Template, label_catalogue, list_templates, load_label_catalogue, load_template
from tests.helpers import minimal, write_template

LANGUAGES = {"en", "de", "fr", "es", "nl", "it"}
TEMPLATES = [pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in list_templates()]


def _labelled(template: Template) -> list[tuple[str, str]]:
    """(section, name) of every field and var that prints a label: its own, a label_key, or its name in the catalogue."""
    known = {key for entries in label_catalogue().values() for key in entries}
    return [
        (section, name)
        for section, gens in (("vars", template.vars), ("fields", template.fields))
        for name, gen in gens.items()
        if gen.labels is not None or gen.label_key is not None or name in known
    ]


def _error(tmp_path: Path, data: dict) -> TemplateError:
    path = write_template(tmp_path, data)
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    return info.value


def _catalogue_error(tmp_path: Path, name: str, text: str) -> TemplateError:
    (tmp_path / name).write_text(text)
    with pytest.raises(TemplateError) as info:
        load_label_catalogue(tmp_path)
    assert str(tmp_path / name) in str(info.value) and "\n" not in str(info.value)
    return info.value


def test_the_catalogue_has_a_file_per_language_and_is_not_a_template():
    assert {p.stem for p in LABEL_DIR.glob("*.yaml")} == LANGUAGES
    assert set(load_label_catalogue()) == LANGUAGES
    assert not [p for p in list_templates() if p.parent == LABEL_DIR]
    for entries in load_label_catalogue().values():
        assert entries and all(variants and all(v.strip() for v in variants) for variants in entries.values())


def test_the_catalogue_lists_each_variant_once():
    """Read as plain YAML, independently of the loader (which refuses a variant listed twice as well)."""
    for path in sorted(LABEL_DIR.glob("*.yaml")):
        for key, variants in yaml.safe_load(path.read_text()).items():
            assert len(variants) == len(set(variants)), (path.name, key)


@pytest.mark.parametrize("path", TEMPLATES)
def test_every_labelled_field_has_labels_in_each_language_of_its_locales(path):
    template = load_template(path)
    labelled = _labelled(template)
    assert labelled
    for _, name in labelled:
        for locale in template.locales:
            variants = template.labels_for(name, locale.split("_")[0])
            assert variants and all(isinstance(v, str) and v.strip() for v in variants), (name, locale)


def test_translations_live_in_the_catalogue_not_in_templates():
    """A field's list for a language that repeats the catalogue's entry word for word is a copy to delete."""
    catalogue = label_catalogue()
    for path in list_templates():
        template = load_template(path)
        for gens in (template.vars, template.fields):
            for name, gen in gens.items():
                own = gen.labels if isinstance(gen.labels, dict) else {}
                for lang, variants in own.items():
                    assert variants != catalogue.get(lang, {}).get(gen.label_key or name), (path.name, name, lang)


def test_a_language_with_no_label_anywhere_is_refused_in_one_line(tmp_path):
    data = minimal()  # locales en_US, de_DE
    data["fields"]["company"]["labels"] = {"en": ["Shop"]}  # the catalogue has no "company"
    data["blocks"].append({"type": "pair", "field": "company"})
    text = yaml.safe_dump(data, sort_keys=False)
    err = _error(tmp_path, text)
    assert err.path == "fields.company.labels"
    assert "'de'" in err.message and "de_DE" in err.message and "blocks[8]" in err.message and "labels/de.yaml" in err.message
    assert err.line == next(i for i, line in enumerate(text.splitlines(), 1) if line.strip() == "labels:")

    data["fields"]["company"]["labels"]["de"] = ["Geschäft"]  # the template's own German: valid
    assert load_template(write_template(tmp_path, data)).labels_for("company", "de") == ["Geschäft"]


def test_a_label_is_needed_only_in_the_locales_its_block_is_laid_out_in(tmp_path):
    data = minimal()
    data["fields"]["company"]["labels"] = {"en": ["Shop"]}
    data["blocks"].append({"type": "box", "children": [{"type": "pair", "field": "company", "locales": ["en_US"]}]})
    load_template(write_template(tmp_path, data))  # an English-only line needs no German
    data["blocks"][-1]["children"][0]["locales"] = ["de_DE"]
    assert _error(tmp_path, data).path == "fields.company.labels"
    data["blocks"][-1] = {"type": "text", "field": "company"}  # printed without its label: none needed
    load_template(write_template(tmp_path, data))


def test_an_unlabelled_field_the_catalogue_names_needs_each_language_too(tmp_path):
    data = minimal()
    data["locales"] = ["en_US", "pl_PL"]  # the catalogue has no Polish
    err = _error(tmp_path, data)
    assert err.path == "fields.date" and "'pl'" in err.message and "pl_PL" in err.message and "blocks[2]" in err.message
    for block in data["blocks"]:
        if block["type"] in {"pair", "checkboxes"}:
            block["label"] = ["Label"]  # each block's own label: the fields' are never printed
    load_template(write_template(tmp_path, data))


def test_a_label_key_must_name_a_catalogue_entry(tmp_path):
    data = minimal()
    data["fields"]["tax"]["label_key"] = "vat_includd"
    err = _error(tmp_path, data)
    assert err.path == "fields.tax.label_key" and "'vat_includd'" in err.message


def test_the_templates_own_list_wins_and_other_languages_come_from_the_catalogue(tmp_path):
    data = minimal()
    data["fields"]["total"]["labels"] = {"de": ["Endsumme (eigene)"]}
    data["fields"]["tax"]["label_key"] = "vat_included"
    template = load_template(write_template(tmp_path, data))
    catalogue = label_catalogue()
    assert template.labels_for("total", "de") == ["Endsumme (eigene)"]
    assert template.labels_for("total", "en") == catalogue["en"]["total"]
    assert template.labels_for("tax", "de") == catalogue["de"]["vat_included"] != catalogue["de"]["tax"]
    assert template.labels_for("company", "de") is None  # unlabelled: printed as its key in words
    for seed in range(6):
        _, german = make_layout(template, seed, "de_DE")
        line = next(w.line for w in german.words if w.field == "total")
        assert " ".join(w.text for w in german.words if w.line == line and w.field is None).startswith("Endsumme (eigene)")


def test_a_plain_list_is_every_languages_own(tmp_path):
    data = minimal()
    data["fields"]["total"]["labels"] = ["TOTAL"]
    template = load_template(write_template(tmp_path, data))
    assert template.labels_for("total", "de") == template.labels_for("total", "en") == ["TOTAL"]


def test_shipped_templates_draw_their_german_labels_from_the_catalogue():
    """A German invoice's total is labelled from the catalogue; a receipt's tax by its label_key ("inkl. MwSt")."""
    catalogue = label_catalogue()
    classic = load_template(next(p for p in list_templates() if p.stem == "classic"))
    assert classic.labels_for("total", "de") == catalogue["de"]["total"]
    assert classic.labels_for("total", "en") != catalogue["en"]["total"]  # its English wording is its own
    cafe = load_template(next(p for p in list_templates() if p.stem == "cafe"))
    assert cafe.labels_for("tax", "de") == catalogue["de"]["vat_included"]


@pytest.mark.parametrize(
    ("name", "text", "where", "message"),
    [
        ("xx.yaml", 'phone: ["Tel"]\n', "", "not the language of any Faker locale"),
        ("en_GB.yaml", 'phone: ["Tel"]\n', "", "not the language of any Faker locale"),
        ("de.yaml", '- ["Tel"]\n', "", "YAML mapping"),
        ("de.yaml", "phone: []\n", "phone", "at least 1 item"),
        ("de.yaml", 'phone: ["Tel", " "]\n', "phone[1]", "pattern"),
        ("de.yaml", 'phone: ["Tel", 3]\n', "phone[1]", "valid string"),
        ("de.yaml", 'Phone: ["Tel"]\n', "Phone", "pattern"),
        ("de.yaml", 'phone: ["Tel"]\ntotal: ["Summe", "Gesamt", "Summe"]\n', "total", "'Summe' is listed twice"),
        ("de.yaml", 'phone: &t ["Tel"]\nfax: *t\n', "", "aliases"),
    ],
)
def test_a_bad_catalogue_file_is_refused_in_one_located_line(tmp_path, name, text, where, message):
    err = _catalogue_error(tmp_path, name, text)
    assert err.path == where and message in err.message
    if where:
        assert err.line == next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(where.split("[")[0]))

"""Line items are per-locale data: a German invoice lists German items, never English catch-phrases.

A document's line items are read as much as its fields, and a model trained on French receipts that sell
``TOMATO PASSATA`` learns a document no French shop prints. Every template whose locales speak more than
English draws its item descriptions from a per-language catalogue (a ``choice`` with a list for each language:
the same index in every language, so each item is one product translated).
"""

from __future__ import annotations

import pytest

from datagen.pipeline import make_layout
from datagen.template import list_templates, load_template

TEMPLATES = [t for t in map(load_template, list_templates()) if t.items is not None]


def _languages(template) -> set[str]:
    return {locale.split("_")[0] for locale in template.locales}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.id)
def test_item_descriptions_have_a_catalogue_in_every_language_of_the_template(template):
    description = template.items.columns["description"]
    languages = _languages(template)
    if languages == {"en"}:
        return
    assert isinstance(description.choice, dict), f"{template.id}: item descriptions must be a per-language choice"
    assert languages <= set(description.choice), f"{template.id}: no item catalogue for {sorted(languages - set(description.choice))}"
    english = description.choice.get("en")
    for lang, items in description.choice.items():
        assert len(set(items)) == len(items), f"{template.id}: {lang} lists an item twice"
        if lang != "en" and english:  # translated, not copied: most items read differently from the English ones
            same = sum(a == b for a, b in zip(items, english, strict=True))
            assert same <= len(items) // 3, f"{template.id}: {same} of {len(items)} {lang} items are the English ones"


@pytest.mark.parametrize("template", [t for t in TEMPLATES if _languages(t) != {"en"}], ids=lambda t: t.id)
def test_a_document_prints_the_items_of_its_own_language(template):
    catalogue = template.items.columns["description"].choice
    for locale in template.locales:
        lang = locale.split("_")[0]
        own = {item.casefold() for item in catalogue[lang]}
        others = {item.casefold() for other, items in catalogue.items() if other != lang for item in items} - own
        for seed in range(3):
            doc, _ = make_layout(template, seed, locale)
            printed = [row["description"].casefold() for row in doc.items]
            assert printed and all(text in own for text in printed), (locale, seed, printed)
            assert not any(text in others for text in printed)

"""Tax rates are per-locale data: each document charges a rate its country has (no German 21 %, no French 7 %)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from datagen.pipeline import make_layout
from datagen.template import list_templates, load_template

# The standard rates, written here independently of datagen.providers._TAX_RATES: each country's table must
# hold its standard rate and nothing outside the country's legal rates.
LEGAL = {
    "de_DE": {"0.19", "0.07"},
    "fr_FR": {"0.20", "0.10", "0.055", "0.021"},
    "es_ES": {"0.21", "0.10", "0.04"},
    "it_IT": {"0.22", "0.10", "0.05", "0.04"},
    "nl_NL": {"0.21", "0.09"},
    "en_GB": {"0.20", "0.05"},
}
STANDARD = {"de_DE": "0.19", "fr_FR": "0.20", "es_ES": "0.21", "it_IT": "0.22", "nl_NL": "0.21", "en_GB": "0.20"}

TAXED = [t for t in map(load_template, list_templates()) if "tax_rate" in t.fields or "tax_rate" in t.vars]


@pytest.mark.parametrize("template", TAXED, ids=lambda t: t.id)
def test_every_document_charges_a_rate_of_its_own_country(template):
    seen: dict[str, set[str]] = {}
    for locale in template.locales:
        for seed in range(25):
            doc, _ = make_layout(template, seed, locale)
            rate = doc.typed["tax_rate"]
            assert isinstance(rate, Decimal)
            seen.setdefault(locale, set()).add(str(rate))
    for locale, rates in seen.items():
        if locale in LEGAL:
            assert rates <= LEGAL[locale], (template.id, locale, rates)
            assert STANDARD[locale] in rates, (template.id, locale, rates)  # the standard rate is the common one

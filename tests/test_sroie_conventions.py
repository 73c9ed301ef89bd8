"""Generated Malaysian receipts follow SROIE's label conventions (docs/dataset-format.md, "Label conventions"):
``company`` without its registration number (printed on a line of its own) and without the lines some
receipts print above it (a person's name, an outlet, a welcome line), ``total`` the amount paid after the
cash-rounding adjustment, as a bare number (an "RM" printed next to it is a word of its own; a receipt printing
"RM45.25" would carry it in the value, and no label then repeats it), with the total
before rounding, the adjustment, cash tendered and change printed as distractors, and ``date`` the date only,
printed once: labelled in the header, on an unlabelled till line with the time and codes (the date first or
last), right under the name, right after the totals, or at the bottom. The registration number is printed on its
own line or after the name on the name's line, never as part of ``company``; a tax summary may carry a "TOTAL" row
that is not the total. Addresses end with the town or the state, with or without a postcode."""

from __future__ import annotations

import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest

from datagen.pipeline import make_layout
from datagen.providers import new_faker
from datagen.sample import sample_document
from datagen.template import load_template_cached

MS_RECEIPTS = ("receipt/retail-invoice", "receipt/thermal-basic")
FIVE_SEN = Decimal("0.05")
BARE_AMOUNT = re.compile(r"\d{1,3}(,\d{3})*\.\d\d|\d+\.\d\d")  # 1,234.50 or 1234.50: no RM, no MYR

_NUMBER = r"(\d{6,7}-[A-Z]|(19|20)\d\d01\d{6} \(\d{6,7}-[A-Z]\)|[A-Z]{2}\d{7}(-[A-Z])?|(19|20)\d\d03\d{6} \([A-Z]{2}\d{7}(-[A-Z])?\))"
_LABEL = r"(Co\. Reg\. No\.|Co\. Reg\. No:|Company No\.|Company No:|Co\. No:|Reg\. No:|ROC No\.)"
MS_REG_NO = re.compile(rf"{_NUMBER}|\({_NUMBER}\)|\({_LABEL} {_NUMBER}\)|{_LABEL} {_NUMBER}")
REGISTRY = {  # what other countries' registry ids start with, and how many digits they carry
    "de_DE": (r"(HRB|HRA|Amtsgericht|Handelsregister|Registergericht)", (4, 5)),
    "fr_FR": (r"(RCS|SIREN|SIRET|R\.C\.S\.)", (9, 14)),
    "es_ES": (r"(CIF|NIF|Reg\. Merc\.)", (6, 8)),
    "nl_NL": (r"(KvK|Handelsregister)", (8, 8)),
    "it_IT": (r"(R\.E\.A\.|REA|Reg\. Imprese|Iscr\. Reg\. Imprese)", (6, 11)),
    "en_GB": (r"(Company No\.|Registered in England|Reg\. No\.|Company Reg\. No\.)", (6, 8)),
}


def _draws(locale: str, method: str, n: int) -> list[str]:
    fake = new_faker(locale)
    out = []
    for i in range(n):
        fake.seed_instance(i)
        out.append(getattr(fake, method)())
    return out


def test_malaysian_shop_names_carry_no_registration_number():
    names = _draws("en_MS", "shop_name", 2000)
    for name in names:
        assert not re.search(r"\d", name), name  # no (123456-X), no 12-digit number: SROIE's company has none
        assert name == name.upper() and len(name.split()) >= 2, name
    assert len(set(names)) > 1500  # composed, not drawn from a short list
    suffixed = sum(name.endswith(("SDN BHD", "SDN. BHD.", "SDN.BHD.", "S/B", "ENTERPRISE", "PLT")) for name in names)
    assert 0.4 < suffixed / len(names) < 0.9
    assert _draws("en_MS", "shop_name", 50) == names[:50]  # a pure function of the seed


def test_malaysian_shop_addresses_end_in_the_places_shops_print():
    """Not always "postcode town, state" (Faker's one shape): the town or the state ends it, a unit may start it."""
    fake = new_faker("en_MS")
    addresses = _draws("en_MS", "shop_address", 2000)
    states = {fake.state() for _ in range(300)}
    ends_with_state = sum(a.rstrip(".").endswith(tuple(states)) for a in addresses) / len(addresses)
    assert 0.3 < ends_with_state < 0.7
    assert 0.6 < sum(bool(re.search(r"\b\d{5}\b", a)) for a in addresses) / len(addresses) < 0.95  # postcode
    assert any(a.startswith(("LOT", "UNIT", "SHOP LOT")) for a in addresses)  # a unit in a building first
    assert any(a.endswith(".") for a in addresses) and any(a.endswith("MALAYSIA") for a in addresses)
    assert not any(re.search(r"\d{6,}", a) for a in addresses)  # no registration number inside an address
    assert _draws("en_MS", "shop_address", 50) == addresses[:50]  # a pure function of the seed
    assert _draws("de_DE", "shop_address", 5) == _draws("de_DE", "address", 5)  # other locales: Faker's


def test_malaysian_registration_numbers_have_the_printed_shapes():
    numbers = _draws("en_MS", "company_reg_no", 2000)
    for number in numbers:
        assert MS_REG_NO.fullmatch(number), number
    shapes = {re.sub(r"\d", "9", re.sub(r"[A-Z]{2}\d{7}", "ROB", n)).split()[0] for n in numbers}
    assert len(shapes) >= 8  # bare in brackets, labelled, old and new numbers, business registrations
    assert any(n.startswith("(") and n[1].isdigit() for n in numbers)
    assert any(n[0].isdigit() and n[-2] == "-" for n in numbers)  # bare: 123456-X
    assert any(re.search(r"\d{12} \(", n) for n in numbers)  # new 12-digit number, old one in brackets
    assert any(re.search(r"[A-Z]{2}\d{7}", n) for n in numbers)  # a business registration


@pytest.mark.parametrize("locale", sorted(REGISTRY))
def test_other_locales_get_their_country_registry_id(locale):
    prefix, (lo, hi) = REGISTRY[locale]
    for value in _draws(locale, "company_reg_no", 200):
        assert re.match(prefix, value), value
        digits = max(len(d) for d in re.findall(r"\d+", value.replace(" ", "")))
        assert lo <= digits <= hi, value


def _cash_myr(value: Decimal) -> Decimal:
    return ((value / FIVE_SEN).quantize(Decimal(1), rounding=ROUND_HALF_UP) * FIVE_SEN).quantize(Decimal("0.01"))


@pytest.mark.parametrize("template_id", MS_RECEIPTS)
def test_total_is_the_rounded_amount_paid(template_id):
    template = load_template_cached(template_id)
    adjusted = 0
    for seed in range(300):
        doc = sample_document(template, seed, "en_MS")
        v = doc.typed
        assert doc.currency == "MYR"
        assert v["gross"] == v["subtotal"] + v["tax"], seed
        assert v["total"] == _cash_myr(v["gross"]), seed  # the amount paid: rounded to 5 sen
        assert v["total"] % FIVE_SEN == 0 and v["total"].as_tuple().exponent == -2, seed
        assert v["rounding"] == v["total"] - v["gross"] and abs(v["rounding"]) <= Decimal("0.02"), seed
        adjusted += v["rounding"] != 0
        assert v["tendered"] >= v["total"] and v["tendered"] % v["note"] == 0, seed
        assert v["change"] == v["tendered"] - v["total"] and 0 <= v["change"] < v["note"], seed
        assert BARE_AMOUNT.fullmatch(doc.values["total"]), (seed, doc.values["total"])
        assert doc.var_values["rounding"] in ("0.00", "-0.01", "-0.02", "0.01", "0.02"), seed
        assert not re.search(r"\d", doc.values["company"] or ""), seed
    assert 0.6 < adjusted / 300 < 0.95  # 4 of 5 cent endings need an adjustment


def _line_texts(layout) -> dict[int, str]:
    lines: dict[int, list[str]] = {}
    for w in layout.words:
        lines.setdefault(w.line, []).append(w.text)
    return {line: " ".join(words) for line, words in lines.items()}


@pytest.mark.parametrize("template_id", MS_RECEIPTS)
def test_printed_ladder_has_one_total_field_and_a_registration_line_of_its_own(template_id):
    template = load_template_cached(template_id)
    reg_lines = rounding_lines = name_line_regs = 0
    for seed in range(60):
        doc, layout = make_layout(template, seed, "en_MS")
        total_words = [w for w in layout.words if w.field == "total"]
        assert " ".join(w.text for w in total_words) == doc.values["total"], seed  # the value is the bare number
        assert len({w.line for w in total_words}) == 1, seed  # printed once, on one line
        company_lines = {w.line for w in layout.words if w.field == "company"}
        reg_no = doc.var_values["reg_no"]
        texts = _line_texts(layout)
        reg = [line for line, text in texts.items() if text == reg_no]
        if reg:
            reg_lines += 1
            assert reg[0] == max(company_lines) + 1, seed  # right under the name, never part of it
        if doc.typed["reg_at"] == "name_line":  # after the name, on the name's line: (123456-X)
            name_line_regs += 1
            reg_short = doc.var_values["reg_short"]
            assert re.fullmatch(r"\(\d{6}-[A-Z]\)", reg_short), seed
            assert reg_short in " ".join(texts[line] for line in company_lines | {max(company_lines) + 1}), seed
            assert reg_short not in doc.values["company"], seed
        if any(text.endswith(" " + doc.var_values["rounding"]) and "ound" in text.lower() for text in texts.values()):
            rounding_lines += 1
    assert 0 < reg_lines < 60 and 0 < rounding_lines < 60 and 0 < name_line_regs < 60  # each with a probability


@pytest.mark.parametrize("template_id", MS_RECEIPTS)
def test_lines_above_the_name_are_never_part_of_company(template_id):
    template = load_template_cached(template_id)
    shapes: Counter = Counter()
    n = 120
    for seed in range(n):
        doc, layout = make_layout(template, seed, "en_MS")
        company = [w for w in layout.words if w.field == "company"]
        assert " ".join(w.text for w in company) == doc.values["company"], seed  # the shop's name, nothing else
        first = min(w.line for w in company)
        above = [w for w in layout.words if w.line < first]
        assert all(w.field is None for w in above), seed  # distractors: no field's words above the name
        head = doc.typed["head"]
        text = " ".join(w.text for w in above)
        assert (head == "none") == (not above), (seed, head, text)
        if "person" in head:
            assert doc.var_values["person"] in text and doc.var_values["person"] not in doc.values["company"], seed
        if "outlet" in head:
            assert doc.var_values["outlet"] in text, seed
        if head != "none":
            shapes[head] += 1
    assert 0.2 < sum(shapes.values()) / n < 0.6  # the plain shape (the name first) stays the most common
    assert {"person", "welcome", "outlet", "code"} <= set(shapes), shapes


DATE_ONLY = re.compile(r"\d{1,4}[-/. ][0-9A-Za-z]+\.?[-/. ]\d{2,4}|[A-Za-z]+\.? \d{1,2}, \d{4}")  # 19/10/2018, 19 Oct 2018, Oct 19, 2018


@pytest.mark.parametrize("template_id", MS_RECEIPTS)
def test_date_is_printed_once_as_the_date_only(template_id):
    template = load_template_cached(template_id)
    places: Counter = Counter()
    n = 150
    for seed in range(n):
        doc, layout = make_layout(template, seed, "en_MS")
        words = layout.words
        ids = [i for i, w in enumerate(words) if w.field == "date"]
        value = doc.values["date"]
        # one printing, as one run of words: a second printing would double the joined value
        assert " ".join(words[i].text for i in ids) == value, seed
        assert ids == list(range(ids[0], ids[-1] + 1)), seed
        line = words[ids[0]].line
        assert {words[i].line for i in ids} <= {line, line + 1}, seed  # wrapped at most in a narrow column
        assert DATE_ONLY.fullmatch(value) and not re.search(r"\d:\d\d|[AP]M", value, re.I), (seed, value)
        time_ids = [i for i, w in enumerate(words) if w.field == "time"]
        assert " ".join(words[i].text for i in time_ids) == doc.values["time"], seed  # the time: once, apart
        assert abs(words[time_ids[0]].line - line) <= 1, seed  # next to the date (a narrow column may wrap either)
        total_line = next(w.line for w in words if w.field == "total")
        item_lines = [w.line for w in words if w.item is not None]
        place = doc.typed["date_at"]
        places[place] += 1
        if place.startswith("footer") or place == "after_totals":
            assert line > total_line, seed  # after the totals (right after them, or after the footer lines)
        elif place == "top":  # right under the name (and its registration line), before the address
            address_line = min(w.line for w in words if w.field == "address")
            assert max(w.line for w in words if w.field == "company") < line < address_line, seed
        else:
            assert line < min(item_lines, default=total_line), seed  # in the header
        if place in ("line", "footer", "after_totals"):  # unlabelled: the date starts its line; only time and codes follow
            on_line = [w for w in words if w.line == line]
            assert on_line[0].field == "date", seed
            rest = " ".join(w.text for w in on_line if w.field is None)
            assert rest in ("", doc.var_values["till"]) or doc.var_values["till"].startswith(rest), (seed, rest)
        if place == "time_line":  # 09:15AM 204117 12-05-19: the time starts the line, the date ends it
            on_line = [w for w in words if w.line == line]
            assert on_line[-1].field == "date" or on_line[0].field == "date", seed  # ends the line, or wrapped to the next
            time_line = [w for w in words if w.line == words[time_ids[0]].line]
            assert time_line[0].field == "time", seed
    assert set(places) == {"header", "line", "time_line", "label_line", "top", "after_totals", "footer", "footer_label"}, places
    assert 0.15 < (places["footer"] + places["footer_label"]) / n < 0.45, places  # most stay at the top
    assert places["header"] < n / 2


@pytest.mark.parametrize("template_id", MS_RECEIPTS)
def test_rm_is_a_word_of_its_own_never_part_of_the_total(template_id):
    template = load_template_cached(template_id)
    rm_total = rm_other = 0
    n = 100
    for seed in range(n):
        doc, layout = make_layout(template, seed, "en_MS")
        value = doc.values["total"]
        assert BARE_AMOUNT.fullmatch(value) and "RM" not in value, seed
        total_words = [w for w in layout.words if w.field == "total"]
        assert " ".join(w.text for w in total_words) == value, seed
        texts = _line_texts(layout)
        line = total_words[0].line
        if "RM" in re.findall(r"\w+", texts[line]):
            rm_total += 1
            assert not any(w.text.startswith("RM") for w in total_words), seed
        label_lines = [text for ln, text in texts.items() if ln != line and BARE_AMOUNT.search(text)]
        rm_other += any("RM" in re.findall(r"\w+", text) for text in label_lines)
    assert 0.25 < rm_total / n < 0.8  # with a probability: "TOTAL 45.25" stays common
    assert rm_other > 0.25 * n  # other amounts of the ladder too


@pytest.mark.parametrize("template_id", MS_RECEIPTS)
def test_a_label_never_repeats_the_currency_its_amount_prints(template_id):
    """With the money style ``symbol`` ("RM45.25", the value as printed, as SROIE labels such totals) the pair
    blocks' ``sep_currency`` (" RM", " (RM)") is not drawn: no "TOTAL RM RM45.25"."""
    template = load_template_cached(template_id)
    symbol = template.model_copy(update={"style": template.style.model_copy(update={"money": ["symbol"]})})
    for seed in range(60):
        doc, layout = make_layout(symbol, seed, "en_MS")
        assert re.fullmatch(f"RM({BARE_AMOUNT.pattern})", doc.values["total"]), seed
        texts = _line_texts(layout)
        line = next(w.line for w in layout.words if w.field == "total")
        assert "RM" not in texts[line].replace("(", " ").replace(")", " ").replace(":", " ").split(), (seed, texts[line])


def test_tax_summary_total_row_is_not_the_total():
    """The summary's own "TOTAL" row repeats the net amount and the tax: a total-like line whose amounts are
    never the ``total`` field's words."""
    template = load_template_cached("receipt/retail-invoice")
    rows = 0
    for seed in range(80):
        doc, layout = make_layout(template, seed, "en_MS")
        texts = _line_texts(layout)
        expected = f"{doc.var_values['summary_net']} {doc.var_values['summary_tax']}"
        summary_totals = [
            ln for ln, text in texts.items() if re.fullmatch(r"(TOTAL|Total|TOTAL :|TAX TOTAL:|TOTAL GST) " + re.escape(expected), text)
        ]
        assert bool(summary_totals) == (doc.typed["summary"] == "rows_total"), (seed, doc.typed["summary"])
        if summary_totals:
            rows += 1
            total_line = next(w.line for w in layout.words if w.field == "total")
            assert summary_totals[0] > total_line, seed  # below the ladder, after the amount paid
            assert not any(w.field for w in layout.words if w.line == summary_totals[0]), seed
    assert 0 < rows < 40


def test_ladder_read_as_an_amount_column_lists_labels_then_amounts():
    """``ladder: columns`` prints the amounts as OCR lists a right-aligned column read apart from its labels:
    the total's amount stands alone on its line, after every label of the ladder, and is still the amount paid."""
    template = load_template_cached("receipt/retail-invoice")
    columns = 0
    for seed in range(120):
        doc, layout = make_layout(template, seed, "en_MS")
        if doc.typed["ladder"] != "columns":
            continue
        columns += 1
        texts = _line_texts(layout)
        total_line = next(w.line for w in layout.words if w.field == "total")
        assert texts[total_line] == doc.values["total"], seed  # no label on the amount's line
        subtotal_line = next(w.line for w in layout.words if w.field == "subtotal")
        labels = [ln for ln, text in texts.items() if ln < subtotal_line and re.search(r"(?i)total|nett|payable", text)]
        assert labels and max(labels) < subtotal_line < total_line, seed  # every label first, then the amounts
    assert 5 < columns < 40  # a minority shape


def test_tax_numbers_are_drawn_not_picked_from_a_few_fixed_lines():
    """A model shown the same few tax lines learns to stop before those lines, not before a tax number."""
    ids = _draws("en_MS", "tax_id", 500)
    shape = re.compile(r"\(?(GST|SST)[A-Za-z .]*[: ]+(\d{12}|[A-Z]\d{2}-(18|19)(0[1-9]|1[0-2])-3\d{7})\)?")
    assert all(shape.fullmatch(i) for i in ids), [i for i in ids if not shape.fullmatch(i)][:3]
    assert len(set(ids)) == len(ids) and any(i.startswith("(") for i in ids) and any("SST" in i for i in ids)
    for locale, prefix in [("de_DE", "USt|UST"), ("fr_FR", "N° TVA|TVA"), ("it_IT", "P\\.? ?IVA|Partita|C\\.F\\."), ("nl_NL", "BTW")]:
        assert all(re.match(prefix, i) and len(re.findall(r"\d", i)) >= 8 for i in _draws(locale, "tax_id", 50)), locale
    phones = _draws("en_MS", "shop_phone", 200)
    assert all(re.fullmatch(r"6?0\d{1,2}[- ][\d -]{7,10}", p) for p in phones), phones[:5]

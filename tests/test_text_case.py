"""``style.text_case``: a receipt printed in capitals only is upper-case throughout, and its labels are too."""

from __future__ import annotations

import pytest

from datagen.pipeline import make_layout
from datagen.template import load_template_cached


@pytest.mark.parametrize("template_id", ["receipt/retail-invoice", "receipt/thermal-basic", "receipt/cafe"])
def test_a_capitals_only_print_is_upper_case_throughout_and_values_stay_its_words(template_id):
    template = load_template_cached(template_id)
    cases = []
    for seed in range(40):
        doc, layout = make_layout(template, seed)
        cases.append(doc.style.text_case)
        texts = [w.text for w in layout.words]
        if doc.style.text_case == "upper":
            assert all(t == t.upper() for t in texts), (seed, [t for t in texts if t != t.upper()])
            assert all(v is None or v == v.upper() for v in doc.values.values()), seed
        for key, value in doc.values.items():  # ground truth is what is printed, in the case it is printed in
            words = [w.text for w in layout.words if w.field == key]
            if words:  # (a value whose block was not drawn is absent from the record)
                assert " ".join(words).split() == value.split(), (seed, key)
    declared = template.style.text_case
    share = declared.count("upper") / len(declared)
    assert abs(cases.count("upper") / len(cases) - share) < 0.3, (cases.count("upper"), share)
    assert "as_is" in cases  # mixed-case prints stay in the data


def test_as_is_documents_keep_their_mixed_case():
    template = load_template_cached("receipt/cafe")
    docs = [make_layout(template, seed) for seed in range(30)]
    as_is = [layout for doc, layout in docs if doc.style.text_case == "as_is"]
    assert any(any(w.text != w.text.upper() for w in layout.words) for layout in as_is)

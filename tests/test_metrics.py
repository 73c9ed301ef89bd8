"""Hand-computed cases for ``benchmark.metrics``: every expected number is worked out in the comments."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from benchmark.metrics import (
    Values,
    anls,
    anls_star,
    document_scores,
    donut_f1,
    field_counts,
    normalize,
    nted,
    prf,
    score,
)
from benchmark.results import SCHEMA_FILE

# A 3-document corpus. Keys: company, date, total, cashier, phone, tax (tax is absent everywhere).
#
# doc 1  company  "ACME Corp" / "acme  corp"   lenient tp; strict fp + fn
#        date     equal                        tp
#        total    "12.50" / "12.05"            fp + fn; ANLS: 2 substitutions / 5 chars = NL 0.4 -> 0.6
# doc 2  company  "Bistro" / "Bistro"          tp (strict too)
#        date     None / None                  nothing
#        total    "7.00" / None                fn; ANLS 0
#        cashier  "Ann" / "Ann"                tp
# doc 3  company  None / "Cafe"                fp (hallucinated); ANLS 0
#        date     equal                        tp
#        total    equal                        tp
#        phone    "555-0100" / None            fn; ANLS 0
#
# lenient per key (tp, fp, fn): company (2,1,0) F1 4/5, date (2,0,0) F1 1, total (1,1,2) F1 2/5,
#   cashier (1,0,0) F1 1, phone (0,0,1) F1 0; tax has no counts and is left out.
# micro (6,2,3): P 6/8, R 6/9, F1 12/17. macro (4/5 + 1 + 2/5 + 1 + 0) / 5 = 16/25.
# strict adds doc 1 company as fp + fn and loses its tp: (5,3,4) -> F1 10/(10 + 7) = 10/17.
# Donut F1 = tp / (tp + (fp + fn)/2) = 6 / (6 + 5/2) = 12/17.
# field ANLS over the 10 pairs with a value on either side: doc 1: 1, 1, 0.6; doc 2: 1, 0, 1;
#   doc 3: 0, 1, 1, 0 -> 6.6 / 10 = 33/50.
# ANLS* (absent fields dropped): doc 1 (1 + 1 + 0.6)/3 = 13/15; doc 2 {company, total, cashier} vs
#   {company, cashier}: 2/3; doc 3 gold {date, total, phone} vs pred {company, date, total}: keys date 1,
#   total 1, phone 0, company 0 -> 2/4. Mean (13/15 + 2/3 + 1/2)/3 = 61/90.
GOLDS: list[Values] = [
    {"company": "ACME Corp", "date": "2024-01-05", "total": "12.50", "cashier": None, "phone": None, "tax": None},
    {"company": "Bistro", "date": None, "total": "7.00", "cashier": "Ann", "phone": None, "tax": None},
    {"company": None, "date": "2024-03-03", "total": "3.10", "cashier": None, "phone": "555-0100", "tax": None},
]
PREDS: list[Values] = [
    {"company": "acme  corp", "date": "2024-01-05", "total": "12.05", "cashier": None, "phone": None, "tax": None},
    {"company": "Bistro", "date": None, "total": None, "cashier": "Ann", "phone": None, "tax": None},
    {"company": "Cafe", "date": "2024-03-03", "total": "3.10", "cashier": None, "phone": None, "tax": None},
]


# --- normalize ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ACME Corp", "acme corp"),
        ("Straße", "strasse"),  # casefold, not lower
        ("\uff21\uff22\uff23 \uff11\uff12", "abc 12"),  # full-width letters and digits (NFKC)
        ("\ufb01sh", "fish"),  # the fi ligature (NFKC)
        ("  a \t\n b\u00a0c  ", "a b c"),  # whitespace runs, including a no-break space
        ("   ", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize(raw: str | None, expected: str | None) -> None:
    assert normalize(raw) == expected


# --- field_counts --------------------------------------------------------------------------------------------


def test_field_counts_each_outcome() -> None:
    gold = {"right": "a", "wrong": "b", "missed": "c", "hallucinated": None, "absent": None}
    pred = {"right": "a", "wrong": "x", "missed": None, "hallucinated": "y", "absent": None, "extra": "z"}
    assert field_counts(gold, pred) == {
        "right": (1, 0, 0),
        "wrong": (0, 1, 1),  # a wrong value is one fp and one fn
        "missed": (0, 0, 1),
        "hallucinated": (0, 1, 0),
        "absent": (0, 0, 0),
        "extra": (0, 1, 0),  # a key only the prediction has is an absent gold field
    }


def test_field_counts_strict_vs_lenient() -> None:
    gold = {"company": "ACME  Corp", "total": "12.50", "note": None}
    pred = {"company": "acme corp", "total": "12.50", "note": "  "}
    assert field_counts(gold, pred) == {"company": (1, 0, 0), "total": (1, 0, 0), "note": (0, 0, 0)}
    assert field_counts(gold, pred, strict=True) == {"company": (0, 1, 1), "total": (1, 0, 0), "note": (0, 1, 0)}


# --- prf ---------------------------------------------------------------------------------------------------------


def test_prf() -> None:
    # P = 5/7, R = 5/8, F1 = 2*5 / (2*5 + 2 + 3) = 2/3
    assert prf(5, 2, 3) == {
        "precision": pytest.approx(5 / 7),
        "recall": pytest.approx(5 / 8),
        "f1": pytest.approx(2 / 3),
        "tp": 5,
        "fp": 2,
        "fn": 3,
    }


def test_prf_undefined_is_zero() -> None:
    assert prf(0, 0, 0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 0, "fn": 0}
    only_fp = prf(0, 3, 0)  # recall has a zero denominator
    assert (only_fp["precision"], only_fp["recall"], only_fp["f1"]) == (0.0, 0.0, 0.0)


# --- anls ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("abcdefghij", "abcdefghij", 1.0),  # identical
        ("abcdefghij", "abcdefghiX", 0.9),  # 1 substitution / 10 chars
        ("Hello World", "Hello Wrld", 10 / 11),  # 1 deletion / 11 chars (the anls_star README example)
        ("abcde", "abXYe", 0.6),  # NL = 2/5 = 0.4 < 0.5
        ("abcd", "abXY", 0.0),  # NL = 2/4 = 0.5, not below tau
        ("Hello World", "hello   WORLD", 1.0),  # case and whitespace are normalized
        (None, None, 1.0),
        ("abc", None, 0.0),
        (None, "abc", 0.0),
        ("  ", None, 1.0),  # empty after normalization is absent
    ],
)
def test_anls(gold: str | None, pred: str | None, expected: float) -> None:
    assert anls(gold, pred) == pytest.approx(expected)


def test_anls_tau() -> None:
    assert anls("abcde", "abXYe", tau=0.3) == 0.0  # NL 0.4 >= 0.3
    assert anls("abcd", "abXY", tau=0.6) == pytest.approx(0.5)  # NL 0.5 < 0.6


# --- anls_star -------------------------------------------------------------------------------------------------------


def test_anls_star_readme_string_example() -> None:
    # README: anls_score("Hello World", "Hello Wrld") -> 1 - 1/11
    assert anls_star({"q": "Hello World"}, {"q": "Hello Wrld"}) == pytest.approx(10 / 11)


def test_anls_star_readme_key_scores() -> None:
    # README key_scores example: 'a' Hello/Helloo -> 1 - 1/6 = 0.8333, 'c' Test/(missing) -> 0.0; mean 5/12
    assert anls_star({"a": "Hello", "c": "Test"}, {"a": "Helloo", "c": None}) == pytest.approx(5 / 12)


def test_anls_star_absent_fields() -> None:
    # absent in both: neither rewarded nor penalized
    assert anls_star({"a": "x", "b": None}, {"a": "x", "b": None}) == 1.0
    # true negatives are not rewarded: predicting nothing scores 0, not 9/10
    gold: Values = {"a": "x", **{f"k{i}": None for i in range(9)}}
    assert anls_star(gold, dict.fromkeys(gold)) == 0.0
    # a hallucinated field counts as a wrong key: (1 + 0) / 2
    assert anls_star({"a": "x", "b": None}, {"a": "x", "b": "y"}) == pytest.approx(0.5)
    # nothing to extract and nothing extracted
    assert anls_star({"a": None}, {"a": None}) == 1.0


# --- donut_f1 -------------------------------------------------------------------------------------------------------


def test_donut_f1() -> None:
    # gold leaves (a,1) (b,2) (a,3); predicted (a,1) (b,x) (a,3) (b,4): tp 2, fp 2, fn 1 -> 2 / (2 + 3/2) = 4/7
    golds: list[Values] = [{"a": "1", "b": "2"}, {"a": "3", "b": None}]
    preds: list[Values] = [{"a": "1", "b": "x"}, {"a": "3", "b": "4"}]
    assert donut_f1(golds, preds) == pytest.approx(4 / 7)


def test_donut_f1_matches_keys_and_values() -> None:
    assert donut_f1([{"a": "1", "b": "2"}], [{"a": "2", "b": "1"}]) == 0.0  # right values under the wrong keys
    assert donut_f1([{"a": "ACME  Corp"}], [{"a": "acme corp"}]) == 1.0  # values are normalized


def test_donut_f1_length_mismatch() -> None:
    with pytest.raises(ValueError, match="2 gold documents but 1 predictions"):
        donut_f1([{"a": "1"}, {"a": "2"}], [{"a": "1"}])


# --- nted ---------------------------------------------------------------------------------------------------------

# gold tree: <root> -> date -> "2024-01-05", total -> "12.50"; TED(empty, gold) = 2 key nodes + 10 + 5 chars = 17
NTED_GOLD: Values = {"date": "2024-01-05", "total": "12.50", "phone": None}


def test_nted_identical() -> None:
    assert nted(NTED_GOLD, dict(NTED_GOLD)) == 1.0
    assert nted({"a": "ACME"}, {"a": "acme"}) == 1.0  # values are normalized


def test_nted_empty_prediction() -> None:
    assert nted(NTED_GOLD, dict.fromkeys(NTED_GOLD)) == 0.0  # TED = 17 -> 1 - 17/17


def test_nted_one_wrong_leaf() -> None:
    # update "12.05" -> "12.50" costs their edit distance, 2: 1 - 2/17
    assert nted(NTED_GOLD, {**NTED_GOLD, "total": "12.05"}) == pytest.approx(15 / 17)


def test_nted_missing_field() -> None:
    # insert the total key (1) and its leaf (5 chars): 1 - 6/17
    assert nted(NTED_GOLD, {**NTED_GOLD, "total": None}) == pytest.approx(11 / 17)


def test_nted_clamped_at_zero() -> None:
    # TED(empty, gold) = 1 + 1 = 2; removing the hallucinated b (1 + 10 chars) costs 11 > 2
    assert nted({"a": "x"}, {"a": "x", "b": "long value"}) == 0.0


def test_nted_empty_gold() -> None:
    assert nted({"a": None}, {"a": None}) == 1.0
    assert nted({"a": None}, {"a": "x"}) == 0.0


# --- document_scores -------------------------------------------------------------------------------------------------


def test_document_scores() -> None:
    scores = document_scores(GOLDS[0], PREDS[0])
    assert list(scores) == ["company", "date", "total", "cashier", "phone", "tax"]
    assert scores["company"] == {"gold": "ACME Corp", "pred": "acme  corp", "match": True, "match_strict": False, "anls": 1.0}
    assert scores["total"]["match"] is False
    assert scores["total"]["anls"] == pytest.approx(0.6)
    assert scores["tax"] == {"gold": None, "pred": None, "match": True, "match_strict": True, "anls": 1.0}


def test_document_scores_key_only_in_prediction() -> None:
    assert document_scores({}, {"extra": "z"})["extra"] == {"gold": None, "pred": "z", "match": False, "match_strict": False, "anls": 0.0}


# --- score ----------------------------------------------------------------------------------------------------------


def test_score_corpus() -> None:
    result = score(GOLDS, PREDS)
    assert result["f1"] == pytest.approx(12 / 17)
    assert result["precision"] == pytest.approx(6 / 8)
    assert result["recall"] == pytest.approx(6 / 9)
    assert result["f1_strict"] == pytest.approx(10 / 17)
    assert result["macro_f1"] == pytest.approx(16 / 25)
    assert result["anls"] == pytest.approx(33 / 50)
    assert result["anls_star"] == pytest.approx(61 / 90)
    assert result["donut_f1"] == pytest.approx(12 / 17)


def test_score_per_field() -> None:
    per_field = score(GOLDS, PREDS)["per_field"]
    assert set(per_field) == {"company", "date", "total", "cashier", "phone"}  # tax never occurs
    assert (per_field["company"]["tp"], per_field["company"]["fp"], per_field["company"]["fn"]) == (2, 1, 0)
    assert per_field["total"]["f1"] == pytest.approx(2 / 5)
    assert per_field["phone"]["f1"] == 0.0


def test_score_nted_is_a_mean_over_documents() -> None:
    # doc 1: one wrong leaf, 15/17 (see test_nted_one_wrong_leaf); doc 2: identical, 1.0 -> mean 16/17
    golds = [NTED_GOLD, {"a": "x"}]
    preds = [{**NTED_GOLD, "total": "12.05"}, {"a": "x"}]
    assert score(golds, preds)["nted"] == pytest.approx(16 / 17)


def test_score_perfect_and_empty_fields() -> None:
    result = score([{"a": "x", "b": None}], [{"a": "X", "b": None}])
    assert (result["f1"], result["macro_f1"], result["anls"], result["anls_star"], result["nted"]) == (1.0, 1.0, 1.0, 1.0, 1.0)
    assert result["f1_strict"] == 0.0
    nothing = score([{"a": None}], [{"a": None}])
    assert (nothing["f1"], nothing["macro_f1"], nothing["anls"], nothing["per_field"]) == (0.0, 0.0, 1.0, {})


def test_score_extended_flag() -> None:
    assert {"donut_f1", "nted"} <= set(score(GOLDS, PREDS))
    assert not {"donut_f1", "nted"} & set(score(GOLDS, PREDS, extended=False))


def test_score_rejects_bad_corpora() -> None:
    with pytest.raises(ValueError, match="3 gold documents but 2 predictions"):
        score(GOLDS, PREDS[:2])
    with pytest.raises(ValueError, match="empty"):
        score([], [])


def test_score_matches_results_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    validator = Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/metrics"})
    result = score(GOLDS, PREDS)
    assert list(validator.iter_errors(result)) == []
    scalars = [value for key, value in result.items() if key != "per_field"]
    assert all(type(value) is float for value in scalars)
    assert all(type(field[name]) is float for field in result["per_field"].values() for name in ("precision", "recall", "f1"))

"""Every metric ``pip-bench`` reports, one function each, and :func:`score`, which aggregates them over a corpus.

A document's gold and predicted values are flat :data:`Values` dicts mapping each key of the doc type's schema
to its value string, or ``None`` when the field is absent from the document (gold) or was not predicted or
answered "unknown" (prediction). A key missing from a dict is treated as ``None``.

Normalization (lenient match, the default)
    :func:`normalize` applies Unicode NFKC (full-width forms, ligatures and non-breaking spaces fold to their
    plain forms), then ``str.casefold`` (caseless matching, e.g. "Straße" == "STRASSE"), then collapses every run
    of whitespace to one space and strips the ends. A value that is empty afterwards counts as absent (``None``).
    The strict variant compares the raw strings byte for byte and treats only ``None`` as absent.

Metrics
    - field precision / recall / F1, micro and macro (:func:`field_counts`, :func:`prf`): SROIE / CORD field-level
      counting; a wrong value for a present field is one false positive and one false negative.
    - ANLS per field (:func:`anls`): Biten et al. 2019, "Scene Text Visual Question Answering" (ST-VQA).
    - ANLS* per document (:func:`anls_star`): Peer et al. 2024, "ANLS* - A Universal Document Processing Metric for
      Generative Large Language Models" (arXiv:2402.03848), via the ``anls_star`` library.
    - Donut field F1 and nTED accuracy (:func:`donut_f1`, :func:`nted`): Kim et al. 2022, "OCR-free Document
      Understanding Transformer", ``JSONParseEvaluator.cal_f1`` / ``cal_acc`` in clovaai/donut ``donut/util.py``.

Absent fields: every metric leaves a field that is absent in gold and not predicted out of its counts (it is
neither rewarded nor penalized), and penalizes a value predicted for an absent field. A document with nothing
in gold and nothing predicted is perfect for ANLS, ANLS* and nTED.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import reduce
from statistics import fmean
from typing import Any, NamedTuple

import zss
from anls_star import anls_score
from rapidfuzz.distance import Levenshtein

Values = dict[str, str | None]
Counts = tuple[int, int, int]  # (tp, fp, fn)

_NO_COUNTS: Counts = (0, 0, 0)


def normalize(value: str | None) -> str | None:
    """The lenient form of a value: NFKC, casefold, whitespace runs collapsed to one space, stripped.

    Why: a model that copies "ACME  Corp" as "acme corp" or a full-width "12" (U+FF11 U+FF12) as "12" read the right value;
    layout and case noise should not count as extraction errors. Empty after normalization means absent.
    """
    if value is None:
        return None
    text = " ".join(unicodedata.normalize("NFKC", value).casefold().split())
    return text or None


def _keys(gold: Values, pred: Values) -> list[str]:
    """The union of both dicts' keys, gold's order first (schema order), then keys only the prediction has."""
    return list(dict.fromkeys([*gold, *pred]))


def _present(values: Values) -> dict[str, str]:
    """The fields that are present after normalization, with their raw values."""
    return {key: value for key, value in values.items() if value is not None and normalize(value) is not None}


def _count(gold: str | None, pred: str | None) -> Counts:
    hit = gold is not None and gold == pred
    return int(hit), int(pred is not None and not hit), int(gold is not None and not hit)


def field_counts(gold: Values, pred: Values, strict: bool = False) -> dict[str, Counts]:
    """Per key ``(tp, fp, fn)`` for one document: standard KIE field-level counting (SROIE, CORD).

    Gold present and prediction equal: tp. Prediction given and not equal (also when gold is absent): fp.
    Gold present and prediction not equal (also when not predicted): fn. So a wrong value for a present field
    is one fp *and* one fn, and a field absent in both counts nothing. ``strict`` compares raw strings byte
    for byte; otherwise both sides go through :func:`normalize` first.
    """
    prepare = (lambda value: value) if strict else normalize
    return {key: _count(prepare(gold.get(key)), prepare(pred.get(key))) for key in _keys(gold, pred)}


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """Precision, recall and F1 (0.0 where undefined, i.e. a zero denominator) with the counts they came from.

    F1 is computed as 2tp / (2tp + fp + fn), the harmonic mean of precision and recall where both are defined.
    """
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def _levenshtein(a: str, b: str) -> int:
    """Levenshtein distance (unit insert, delete and substitute), from RapidFuzz."""
    return Levenshtein.distance(a, b)


def _anls_text(value: str | None) -> str | None:
    """ANLS's light normalization: casefold and collapse whitespace (the ST-VQA evaluation lowercases)."""
    if value is None:
        return None
    return " ".join(value.casefold().split()) or None


def anls(gold: str | None, pred: str | None, tau: float = 0.5) -> float:
    """Per-field ANLS (Biten et al. 2019, ST-VQA): ``1 - NL`` if ``NL < tau``, else 0.

    NL is the Levenshtein distance over the longer string's length, on casefolded, whitespace-collapsed
    strings. Why: it gives partial credit for near-misses (OCR-style slips) while the threshold ``tau``
    scores a mostly wrong answer 0 rather than a small positive number. Both absent (``None``, or empty after
    normalization): 1.0; exactly one absent: 0.0. Note the ``anls_star`` library keeps ``NL == tau`` (score
    0.5); this follows the paper, where ``NL >= tau`` scores 0.
    """
    gold_text, pred_text = _anls_text(gold), _anls_text(pred)
    if gold_text is None or pred_text is None:
        return float(gold_text is None and pred_text is None)
    nl = _levenshtein(gold_text, pred_text) / max(len(gold_text), len(pred_text))
    return 1.0 - nl if nl < tau else 0.0


def anls_star(gold: Values, pred: Values) -> float:
    """ANLS* of one document (Peer et al. 2024), by ``anls_star.anls_score`` on the dicts of present fields.

    Why: it is the ANLS generalization to key-value documents that LLM extraction papers report. The library
    averages the per-key ANLS over the keys of both dicts; a gold key missing from the prediction scores 0, a
    predicted key missing from gold scores 0 (hallucination), a gold ``None`` matched by a missing or ``None``
    prediction scores 1, and a predicted ``None`` key that gold lacks is ignored; two empty dicts score 1.

    Decision: fields that are absent (``None`` or empty after :func:`normalize`) are dropped from *both* dicts.
    Dropping them from the prediction changes nothing (the library ignores a predicted ``None`` key that gold
    lacks). Dropping them from gold means a field absent in both is not rewarded: passing gold ``None`` would
    score a document with 2 of 11 schema fields printed at 9/11 for predicting nothing at all. A hallucinated
    field is still penalized, and a document where both sides are empty scores 1.0. Values are passed raw; the
    library lowercases and collapses whitespace itself.
    """
    # the flags spelt out select the library's overload that returns the score alone
    return float(anls_score(_present(gold), _present(pred), return_gt=False, return_key_scores=False))


def _leaves(values: Values) -> Counter[tuple[str, str]]:
    """Donut's ``flatten`` of a flat dict: the multiset of ``(key, normalized value)``, absent fields skipped."""
    return Counter((key, text) for key, value in values.items() if (text := normalize(value)) is not None)


def _check_lengths(golds: Sequence[Values], preds: Sequence[Values]) -> None:
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} gold documents but {len(preds)} predictions")


def donut_f1(golds: Sequence[Values], preds: Sequence[Values]) -> float:
    """Donut's field F1 over a corpus (Kim et al. 2022, ``JSONParseEvaluator.cal_f1`` of clovaai/donut).

    Why: reported by Donut and later OCR-free KIE papers, so results line up with theirs. Each document is
    flattened to ``(key, value)`` leaves (absent fields skipped); predicted leaves found among the gold leaves
    are tp (each gold leaf used once), the others fp, the unmatched gold leaves fn, summed over the corpus:
    ``F1 = tp / (tp + (fp + fn) / 2)``, 0.0 when there are no leaves at all. Values are compared after
    :func:`normalize` (Donut only strips). On flat dicts this equals the lenient micro F1, a cross-check.
    """
    _check_lengths(golds, preds)
    tp = unmatched = 0
    for gold, pred in zip(golds, preds, strict=True):
        gold_leaves, pred_leaves = _leaves(gold), _leaves(pred)
        matched = (gold_leaves & pred_leaves).total()
        tp += matched
        unmatched += gold_leaves.total() + pred_leaves.total() - 2 * matched
    return _ratio(tp, tp + unmatched / 2)


class _Label(NamedTuple):
    """A tree node's label: Donut marks leaves with a ``<leaf>`` prefix; a flag says the same unambiguously."""

    text: str
    leaf: bool


def _tree(values: Values) -> zss.Node:
    """Donut's ``construct_tree_from_dict``: root -> one node per present key -> one leaf with its value.

    Keys are sorted as Donut's ``normalize_dict`` sorts them, by (length, key); values are :func:`normalize`d.
    """
    root = zss.Node(_Label("<root>", leaf=False))
    for key, text in sorted(_leaves(values), key=lambda leaf: (len(leaf[0]), leaf[0])):
        root.addkid(zss.Node(_Label(key, leaf=False)).addkid(zss.Node(_Label(text, leaf=True))))
    return root


def _insert_or_remove_cost(node: zss.Node) -> int:
    """Donut's ``insert_and_remove_cost``: a leaf costs its value's length, any other node 1."""
    label: _Label = node.label
    return len(label.text) if label.leaf else 1


def _update_cost(a: zss.Node, b: zss.Node) -> int:
    """Donut's ``update_cost``: leaf to leaf is the values' edit distance; leaf to key is 1 + the leaf's length;
    key to key is 0 if equal, else 1."""
    la, lb = a.label, b.label
    if la.leaf and lb.leaf:
        return _levenshtein(la.text, lb.text)
    if la.leaf or lb.leaf:
        return 1 + len((la if la.leaf else lb).text)
    return int(la.text != lb.text)


def _tree_distance(a: zss.Node, b: zss.Node) -> float:
    return zss.distance(
        a,
        b,
        get_children=zss.Node.get_children,
        insert_cost=_insert_or_remove_cost,
        remove_cost=_insert_or_remove_cost,
        update_cost=_update_cost,
    )


def nted(gold: Values, pred: Values) -> float:
    """Donut's normalized tree edit distance accuracy of one document (``JSONParseEvaluator.cal_acc``).

    Why: it grades partially right values (by character edits) and structure together, as Donut reports it.
    ``max(0, 1 - TED(pred, gold) / TED(empty, gold))``, where TED is the Zhang-Shasha tree edit distance
    (``zss.distance``) with Donut's costs: inserting or removing a leaf costs its value's length, a key node 1;
    updating leaf to leaf costs the values' Levenshtein distance, leaf to key 1 + the leaf's length, key to key
    0 or 1. ``TED(empty, gold)`` is therefore the number of present gold keys plus their values' lengths.
    Trees are built as in :func:`_tree` from :func:`normalize`d values. Donut divides by zero on an empty gold;
    here an empty gold scores 1.0 if nothing is predicted, else 0.0.
    """
    if not _present(gold):
        return float(not _present(pred))
    gold_tree = _tree(gold)
    distance = _tree_distance(_tree(pred), gold_tree)
    return max(0.0, 1.0 - distance / _tree_distance(_tree({}), gold_tree))


def document_scores(gold: Values, pred: Values) -> dict[str, dict[str, Any]]:
    """Per key of either dict: both values, lenient and strict match, and ANLS; the record of a logged sample.

    ``match`` is true when the :func:`normalize`d values are equal (so also when both are absent).
    """
    scores = {}
    for key in _keys(gold, pred):
        gold_value, pred_value = gold.get(key), pred.get(key)
        scores[key] = {
            "gold": gold_value,
            "pred": pred_value,
            "match": normalize(gold_value) == normalize(pred_value),
            "match_strict": gold_value == pred_value,
            "anls": anls(gold_value, pred_value),
        }
    return scores


def _add(a: Counts, b: Counts) -> Counts:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _counts_by_key(golds: Sequence[Values], preds: Sequence[Values], strict: bool) -> dict[str, Counts]:
    totals: dict[str, Counts] = {}
    for gold, pred in zip(golds, preds, strict=True):
        for key, counts in field_counts(gold, pred, strict).items():
            totals[key] = _add(totals.get(key, _NO_COUNTS), counts)
    return totals


def _micro(counts_by_key: dict[str, Counts]) -> dict[str, Any]:
    return prf(*reduce(_add, counts_by_key.values(), _NO_COUNTS))


def _field_anls(golds: Sequence[Values], preds: Sequence[Values]) -> list[float]:
    """ANLS of every (document, key) pair where gold or prediction is not ``None``."""
    return [
        anls(gold.get(key), pred.get(key))
        for gold, pred in zip(golds, preds, strict=True)
        for key in _keys(gold, pred)
        if gold.get(key) is not None or pred.get(key) is not None
    ]


def score(golds: Sequence[Values], preds: Sequence[Values], extended: bool = True) -> dict[str, Any]:
    """The ``metrics`` object of a results file (``$defs/metrics`` in ``results.schema.json``) for a corpus.

    - ``f1``, ``precision``, ``recall``: micro over all keys and documents, lenient match.
    - ``f1_strict``: micro F1, byte-exact match.
    - ``per_field``: :func:`prf` per key (lenient), for the keys with any tp, fp or fn in the corpus; a key that
      is absent in gold and never predicted anywhere is left out.
    - ``macro_f1``: the mean F1 of ``per_field`` (0.0 if it is empty).
    - ``anls``: mean per-field ANLS over (document, key) pairs where gold or prediction is not ``None``; 1.0 if none.
    - ``anls_star``: mean over documents of :func:`anls_star`.
    - with ``extended``: ``donut_f1`` (:func:`donut_f1`) and ``nted`` (mean over documents of :func:`nted`).

    Raises ``ValueError`` when the sequences differ in length or are empty.
    """
    _check_lengths(golds, preds)
    if not golds:
        raise ValueError("cannot score an empty corpus")
    lenient = _counts_by_key(golds, preds, strict=False)
    micro = _micro(lenient)
    per_field = {key: prf(*counts) for key, counts in lenient.items() if any(counts)}
    field_anls = _field_anls(golds, preds)
    result: dict[str, Any] = {
        "f1": micro["f1"],
        "precision": micro["precision"],
        "recall": micro["recall"],
        "f1_strict": _micro(_counts_by_key(golds, preds, strict=True))["f1"],
        "macro_f1": fmean(field["f1"] for field in per_field.values()) if per_field else 0.0,
        "anls": fmean(field_anls) if field_anls else 1.0,
        "anls_star": fmean(anls_star(gold, pred) for gold, pred in zip(golds, preds, strict=True)),
        "per_field": per_field,
    }
    if extended:
        result["donut_f1"] = donut_f1(golds, preds)
        result["nted"] = fmean(nted(gold, pred) for gold, pred in zip(golds, preds, strict=True))
    return result

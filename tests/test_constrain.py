"""Constrained AR decoding (benchmark.constrain): the answer automaton, the token byte table, generate under it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from benchmark.adapters import load_adapter
from benchmark.adapters.base import ModelSpec
from benchmark.cli import main
from benchmark.constrain import DONE, START, Runs, Skeleton, ground_pip, token_bytes
from benchmark.data import load_eval_set
from datagen.build import build
from datagen.build_plan import BuildConfig
from datagen.doctypes import DOC_TYPES
from datagen.prompts import UNKNOWN, encode_all, parse_pip
from tests.tiny_models import TOKENIZER, bare_tokenizer, tiny_donut, tiny_llama

RECEIPT = DOC_TYPES["receipt"]
PAGE = 'ACME Ltd\n12 Main Street\nHe said "hi" \\o/\nTOTAL 9.99'


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("constrain") / "ds"
    build(
        # exact words: grounded decoding emits printed runs only, and OCR-like words may not spell a value
        BuildConfig(
            n=24, seed=11, splits=(("train", 0.5), ("test", 0.5)), image_format="none", calibration_docs=30, shard_size=12, ocr_noise=False
        ),
        out,
        workers=1,
    )
    return out


@pytest.fixture(scope="module")
def llama(tmp_path_factory) -> Path:
    return tiny_llama(tmp_path_factory.mktemp("models") / "tiny-llama")


def answer(**values: str) -> bytes:
    """A receipt answer as the reference models write it: every key in schema order, null when absent."""
    return json.dumps({k: values.get(k) for k in RECEIPT}, ensure_ascii=False).encode()


def test_every_gold_answer_is_accepted_grounded(dataset):
    docs = load_eval_set(str(dataset), "test", None).documents
    assert docs and {d.doc_type for d in docs} == set(DOC_TYPES)
    for doc in docs:
        gold = json.dumps(doc.gold, ensure_ascii=False).encode()
        assert Skeleton(DOC_TYPES[doc.doc_type], doc.text).advance(START, gold) == DONE, doc.id


@pytest.mark.parametrize(
    ("values", "grounded_ok", "free_ok"),
    [
        ({"company": "ACME Ltd", "total": "9.99"}, True, True),
        ({"company": "Ltd 12 Main"}, True, True),  # a value across a line break: the break is a space
        ({"company": 'He said "hi" \\o/'}, True, True),  # JSON escapes are read back before grounding
        ({"company": "ACME Inc"}, False, True),  # not printed
        ({"company": "CME Ltd"}, False, True),  # starts inside a word
        ({"company": "ACME Lt"}, False, True),  # ends inside a word
        ({"company": ""}, False, False),  # absent is null, never ""
    ],
)
def test_values_grounded_and_free(values, grounded_ok, free_ok):
    for document, ok in ((PAGE, grounded_ok), (None, free_ok)):
        state = Skeleton(RECEIPT, document).advance(START, answer(**values))
        assert (state == DONE) is ok, (values, document is not None)


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({k: None for k in reversed(RECEIPT)}),  # keys out of schema order
        json.dumps({k: None for k in RECEIPT[:-1]}),  # a key missing
        json.dumps({k: None for k in RECEIPT}, indent=1),  # not the compact form
        json.dumps({k: None for k in RECEIPT}) + " ",  # anything after the closing brace
        json.dumps({k: None for k in RECEIPT}).replace("null", "nul", 1),
    ],
)
def test_skeleton_rejects_other_shapes(text):
    assert Skeleton(RECEIPT, None).advance(START, text.encode()) is None


def test_a_backslash_needs_an_escape_that_stays_grounded():
    """In grounded mode a backslash is accepted only where an escaped character continues a printed run:
    otherwise no byte could follow it and greedy decoding would end the answer there, unparsable."""
    opened = b'{"company": "'
    for document, value, ok in ((PAGE, b"ACME", False), (PAGE, b"He said ", True), (None, b"ACME", True)):
        skeleton = Skeleton(RECEIPT, document)
        assert (skeleton.advance(START, opened + value + b"\\") is not None) is ok, (document, value)


def test_leading_whitespace_is_allowed_before_the_brace():
    assert Skeleton(RECEIPT, PAGE).advance(START, b" \n" + answer(total="9.99")) == DONE


@pytest.mark.parametrize("make", [lambda: AutoTokenizer.from_pretrained(TOKENIZER), bare_tokenizer], ids=["project", "bare"])
def test_token_bytes_spell_the_decoded_text(make):
    tokenizer = make()
    table = token_bytes(tokenizer, len(tokenizer))
    text = 'Fürstenfeldbruck {"total": "12,50 €"} — TOTAL: 0123'
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert b"".join(table[i] for i in ids) == tokenizer.decode(ids).encode()
    assert all(table[i] is None for i in tokenizer.all_special_ids)


def _outputs(adapter, docs, constraint):
    """Decoded answers, less a character the token limit cut in half (decoded as U+FFFD)."""
    return [r.output.removesuffix("\ufffd") for r in adapter.ar(docs, max_new_tokens=48, constraint=constraint)]


def test_generate_under_the_constraint_never_leaves_the_automaton(dataset, llama):
    """A random model writes anything unconstrained; under ``grounded`` every output is a valid answer prefix."""
    adapter = load_adapter(ModelSpec(str(llama)))
    docs = load_eval_set(str(dataset), "test", 6).documents
    free = _outputs(adapter, docs, "none")
    assert any(Skeleton(DOC_TYPES[d.doc_type], d.text).advance(START, o.encode()) is None for d, o in zip(docs, free, strict=True))
    for constraint, grounded in (("json", False), ("grounded", True)):
        for doc, output in zip(docs, _outputs(adapter, docs, constraint), strict=True):
            state = Skeleton(DOC_TYPES[doc.doc_type], doc.text if grounded else None).advance(START, output.encode())
            assert state is not None and output.lstrip().startswith('{"' + DOC_TYPES[doc.doc_type][0]), (constraint, output)


def test_results_record_the_constraint(dataset, llama, tmp_path, capsys):
    out = tmp_path / "results"
    args = ["evaluate", str(llama), "--dataset", str(dataset), "--limit", "4", "--modes", "ar", "--max-new-tokens", "8"]
    assert main([*args, "--timing-docs", "0", "--ar-constraint", "grounded", "--output-dir", str(out)]) == 0, capsys.readouterr().err
    (path,) = out.glob("results_*.json")
    assert json.loads(path.read_text())["config"]["ar_constraint"] == "grounded"


def test_grounding_an_image_model_is_refused(dataset, tmp_path, capsys):
    model = tiny_donut(tmp_path / "donut")
    code = main(
        [
            "evaluate",
            str(model),
            "--dataset",
            str(dataset),
            "--modes",
            "ar",
            "--ar-constraint",
            "grounded",
            "--output-dir",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--ar-constraint grounded" in err and "Traceback" not in err


# --- PIP: ground_pip ------------------------------------------------------------------------------

LINES = "Invoice INV-7\nBill to: 7 Cooper Plaza South Darren\nHR74 2TF\nTotal 272,70 €"


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(TOKENIZER)


def _candidates(runs: Runs) -> list[tuple[list[int], list[int]]]:
    """(spelling, value) ids of every candidate."""
    rows, lengths = runs.row.tolist(), runs.length.tolist()
    return [(runs.rows[r, :n].tolist(), runs.value(c)) for c, (r, n) in enumerate(zip(rows, lengths, strict=True))]


def test_runs_tokenize_like_their_text_and_add_the_printed_spelling(tokenizer):
    candidates = _candidates(Runs.of(tokenizer, LINES, 64))
    words = LINES.split()
    texts = {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
    assert {tokenizer.decode(v) for _, v in candidates} == texts | {UNKNOWN}
    for spelling, value in candidates:
        assert value == encode_all(tokenizer, [tokenizer.decode(value)])[0]  # word by word = the run's own tokenization
        if spelling != value:  # a run across a line break, spelt as printed: the next line's word bare
            assert tokenizer.decode(spelling).replace(" ", "") == tokenizer.decode(value).replace(" ", "")
    assert {tokenizer.decode(s) for s, v in candidates if s != v} >= {"DarrenHR74 2TF", "Invoice INV-7Bill"}


def test_runs_fit_their_width(tokenizer):
    width = 4
    candidates = _candidates(Runs.of(tokenizer, LINES, width))
    assert candidates and all(len(s) <= width for s, _ in candidates)
    words = LINES.split()
    short = {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
    short = {t for t in short if len(encode_all(tokenizer, [t])[0]) <= width}
    assert {tokenizer.decode(v) for s, v in candidates if s == v} == short | {UNKNOWN}


def _slot_logits(tokenizer, texts: list[str | None], budget: int, vocab: int) -> tuple[torch.Tensor, list[list[int]]]:
    """Logits whose argmax spells each text (None: padding), one run of ``budget`` slots per text."""
    rows, per_key = [], []
    for text in texts:
        ids = encode_all(tokenizer, [text])[0] if text else []
        ids = ids + [tokenizer.pad_token_id] * (budget - len(ids))
        per_key.append(ids)
        rows.append(torch.nn.functional.one_hot(torch.tensor(ids), vocab).float() * 5.0)
    return torch.cat(rows), per_key


@pytest.mark.parametrize(
    ("argmax", "grounded"),
    [
        ("72,70 €", "272,70 €"),  # the span started one token late: the likeliest run keeps the copied tokens
        ("7 Cooper Plaza South DarrenHR74 2TF", "7 Cooper Plaza South Darren HR74 2TF"),  # a line break's spelling
        ("Total 272,70 €", "Total 272,70 €"),  # already a run of words: kept
        ("Zebra Crossing", None),  # nothing printed is likelier than unknown... when unknown is likelier
    ],
)
def test_ground_pip_picks_the_likeliest_run(tokenizer, argmax, grounded):
    keys = DOC_TYPES["invoice"]
    budget, vocab = 24, len(tokenizer)
    logits, per_key = _slot_logits(tokenizer, [argmax] + [None] * (len(keys) - 1), budget, vocab)
    if grounded is None:  # make "unknown" the best grounded answer: a little mass on its tokens
        for k, t in enumerate(encode_all(tokenizer, [UNKNOWN])[0]):
            logits[k, t] += 4.0
    out = ground_pip(logits, per_key, "invoice", LINES, dict.fromkeys(keys, budget), tokenizer)
    values = parse_pip(out, "invoice", tokenizer)
    assert values[keys[0]] == grounded and all(v is None for k, v in values.items() if k != keys[0])


def test_pip_grounded_end_to_end_keeps_every_value_on_the_page(dataset, llama, tmp_path, capsys):
    out = tmp_path / "results"
    args = ["evaluate", str(llama), "--dataset", str(dataset), "--limit", "6", "--modes", "pip", "--timing-docs", "0"]
    assert main([*args, "--pip-constraint", "grounded", "--output-dir", str(out), "--log-samples"]) == 0, capsys.readouterr().err
    (samples,) = out.glob("samples_*.jsonl")
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    docs = {d.id: d for d in load_eval_set(str(dataset), "test", 6).documents}
    predicted = [(r["id"], v) for r in rows for v in r["prediction"].values() if v is not None]
    assert predicted  # a random model's argmax is rarely a run of words; grounded, every value is one
    assert all(f" {v} " in f" {' '.join(docs[i].text.split())} " for i, v in predicted)

"""The copy-head model: a registered HF architecture whose incremental decoding equals a full pass,
which copies only what a position may see, whose span copy continues a value in both modes, and which
the harness runs like any causal LM; and span answers, trained on exactly what the harness reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from benchmark.adapters import load_adapter
from benchmark.adapters.base import Decoding, ModelSpec
from benchmark.cli import main
from benchmark.data import Document
from benchmark.pip import attention_mask_4d, derive_budgets, logit_positions, position_ids, value_spans
from benchmark.pointer import MatchState, PointerConfig, PointerForCausalLM, vocabulary_tables
from benchmark.train import (
    TrainConfig,
    ar_examples,
    collate,
    longest_spans,
    new_model,
    pip_examples,
    shifted_loss,
    span_examples,
)
from datagen.build import build
from datagen.build_plan import BuildConfig
from datagen.doctypes import DOC_TYPES
from datagen.prompts import MASK, pip_instruction
from tests.tiny_models import TOKENIZER, tiny_pointer


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(TOKENIZER)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return tiny_pointer(tmp_path_factory.mktemp("models") / "tiny-pointer")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pointer") / "ds"
    build(BuildConfig(n=12, seed=4, image_format="none", width=256, calibration_docs=20, shard_size=12), out, workers=1)
    return out


def _copy_only(model: PointerForCausalLM, source: int) -> None:
    """Force the gate onto one source (1 = copy, 2 = copy-twin) so its mass is visible in the output."""
    with torch.no_grad():
        model.copy_gate.weight.zero_()
        model.copy_gate.bias.fill_(-30.0)
        model.copy_gate.bias[source] = 30.0


def test_twins_toggle_the_leading_space_and_specials_are_never_copied(tokenizer):
    twin, copyable = vocabulary_tables(tokenizer, len(tokenizer))
    vocab = tokenizer.get_vocab()
    pairs = [(t, t[1:]) for t in vocab if t.startswith("Ġ") and t[1:] in vocab]
    assert len(pairs) > 100
    for spaced, bare in pairs[:50]:
        assert twin[vocab[spaced]] == vocab[bare] and twin[vocab[bare]] == vocab[spaced]
    assert not copyable[tokenizer.convert_tokens_to_ids(MASK)] and not copyable[tokenizer.pad_token_id]
    newline = tokenizer.encode("\n", add_special_tokens=False)
    assert len(newline) == 1 and not copyable[newline[0]]
    assert copyable[vocab["total"]] and copyable.sum() < len(tokenizer) - len(set(tokenizer.all_special_ids))


def test_the_architecture_round_trips_through_the_auto_classes(model_dir, tokenizer):
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    assert isinstance(model, PointerForCausalLM) and model.config.model_type == "pip-kie-pointer"
    twin, copyable = vocabulary_tables(tokenizer, len(tokenizer))
    assert torch.equal(model.twin, twin) and torch.equal(model.copyable, copyable)  # the tables travel with the weights
    half = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float16)
    assert half.dtype == torch.float16 and half.twin.dtype == torch.long


@pytest.mark.parametrize("match_length", [0, 4])
def test_incremental_decoding_equals_one_full_pass(model_dir, tokenizer, match_length):
    """The copy memory and span-copy state kept on the KV cache give each generated step exactly the full
    pass's logits."""
    model = AutoModelForCausalLM.from_pretrained(model_dir, match_length=match_length).eval()
    tokenizer.padding_side = "left"
    enc = tokenizer(["TOTAL 12.50 cash 20.00", "Date 01/02/2024"], return_tensors="pt", padding=True, return_token_type_ids=False)
    out = model.generate(
        **enc, max_new_tokens=5, do_sample=False, pad_token_id=tokenizer.pad_token_id, output_logits=True, return_dict_in_generate=True
    )
    padding = torch.ones_like(out.sequences)
    padding[:, : enc["attention_mask"].shape[1]] = enc["attention_mask"]
    answer_start = torch.full((2,), enc["input_ids"].shape[1])
    with torch.no_grad():
        full = model(input_ids=out.sequences, attention_mask=padding, position_ids=position_ids(padding), answer_start=answer_start).logits
    start = enc["input_ids"].shape[1] - 1
    for step, logits in enumerate(out.logits):
        torch.testing.assert_close(logits, full[:, start + step], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("attention", ["causal", "bidirectional"])
def test_copy_mass_goes_only_to_tokens_the_position_may_see(model_dir, tokenizer, attention):
    model = AutoModelForCausalLM.from_pretrained(model_dir, span_copy=False).eval()
    _copy_only(model, 1)
    mask = tokenizer.convert_tokens_to_ids(MASK)
    words = tokenizer.encode("alpha beta gamma delta", add_special_tokens=False)
    ids = torch.tensor([[*words, mask, mask, mask]])
    padding = torch.ones_like(ids)
    span = len(words)
    with torch.no_grad():
        probs = model(input_ids=ids, attention_mask=attention_mask_4d(padding, [span], attention, torch.float32)).logits.exp()[0]
    for position in range(len(ids[0])):
        visible = set(ids[0, : position + 1].tolist()) if attention == "causal" or position < span else set(ids[0].tolist())
        expected = visible - {mask}
        support = set(torch.nonzero(probs[position] > 1e-6).flatten().tolist())
        assert support == expected, position
        assert probs[position].sum() == pytest.approx(1.0, abs=1e-4)


def test_the_twin_source_spells_the_copied_word_with_the_other_space(model_dir, tokenizer):
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    _copy_only(model, 2)
    ids = tokenizer.encode("TOTAL total", add_special_tokens=False)
    with torch.no_grad():
        probs = model(input_ids=torch.tensor([ids])).logits.exp()[0, -1]
    expected = {int(model.twin[i]) for i in ids}
    assert set(torch.nonzero(probs > 1e-6).flatten().tolist()) == expected


def test_span_copy_continues_where_the_first_slot_points_skipping_line_breaks(model_dir, tokenizer):
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    mask = tokenizer.convert_tokens_to_ids(MASK)
    doc = tokenizer.encode("name Ben Roberts\nLondon\nkey:", add_special_tokens=False)
    ids = torch.tensor([[*doc, mask, mask, mask, mask]])
    queries = torch.arange(ids.shape[1])
    allowed = model.sources(attention_mask_4d(torch.ones_like(ids), [len(doc)], "bidirectional", torch.float32), queries, ids, 0)
    weights = torch.zeros(1, len(queries), ids.shape[1])
    ben = doc.index(tokenizer.encode(" Ben", add_special_tokens=False)[0])
    weights[0, len(doc) - 1, ben] = 1.0  # the run's first slot (read before the first mask) points at "Ben"
    shifted = model.span_shift(weights, queries, ids, allowed)[0]
    copied = [int(ids[0, shifted[q].argmax()]) for q in range(len(doc) - 1, len(doc) + 3)]
    newline = tokenizer.encode("\n", add_special_tokens=False)[0]
    assert newline in doc[ben:] and copied == [t for t in doc[ben:] if t != newline][:4]  # line breaks are skipped
    torch.testing.assert_close(shifted[: len(doc) - 1], weights[0, : len(doc) - 1])  # no other row changes


@pytest.mark.parametrize("mode", ["ar", "pip"])
def test_training_loss_equals_the_models_own_loss(dataset, tokenizer, mode):
    """Training scores only the answer's positions (and AR span copy from each answer's start): the same
    loss as the model's own full forward."""
    torch.manual_seed(0)
    config = TrainConfig(mode=mode, dataset="", steps=1, hidden_size=32, layers=1, heads=2, intermediate_size=64, match_length=4)
    model = new_model(config, tokenizer)
    from benchmark.data import load_eval_set

    docs = load_eval_set(str(dataset), "train", limit=3).documents
    if mode == "ar":
        batch = collate(ar_examples(tokenizer, docs), tokenizer.pad_token_id, None)
    else:
        batch = collate(pip_examples(tokenizer, docs, derive_budgets(tokenizer, docs)), tokenizer.pad_token_id, "bidirectional")
    ours = shifted_loss(model, batch)
    theirs = model(**batch).loss
    torch.testing.assert_close(ours, theirs)


def test_ar_span_copy_grades_each_source_by_how_much_of_the_answer_it_continues(model_dir, tokenizer):
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    doc = tokenizer.encode("name Ben Roberts\nLondon\nkey: Ben", add_special_tokens=False)
    answer = tokenizer.encode(' "Ben Roberts London', add_special_tokens=False)
    tokens = " ".join(tokenizer.convert_ids_to_tokens(doc + answer))
    assert tokens == 'name ĠBen ĠRobert s Ċ L ond on Ċ key : ĠBen Ġ" Ben ĠRobert s ĠL ond on'
    ids = torch.tensor([doc + answer])
    lengths = MatchState.full_pass(ids, torch.tensor([len(doc)]), model.twin, model.copyable, cap=3)[0]
    assert not lengths[: len(doc)].any() and not lengths[:, len(doc) :].any()  # the prompt matches nothing; the answer is no source
    continued = [{int(j): int(lengths[t, j]) for j in torch.nonzero(lengths[t]).flatten()} for t in range(len(doc), ids.shape[1])]
    assert continued == [
        {},  # '"' is nowhere in the prompt
        {2: 1},  # "Ben" matches both " Ben" (twins); only the first has a source after it: " Robert"
        {3: 2},  # "Ben Robert" -> "s"
        {5: 3},  # "... s" -> "L", past the line break
        {6: 3},  # " L" matches "L" (twins); capped at 3
        {7: 3},
        {9: 3},
    ]


def test_ar_span_copy_keeps_a_copying_model_on_its_value(model_dir, tokenizer):
    """With the copy attention blind (zero queries) and the gate on copy, only span copy can order the
    output: greedy decoding then reads the document on from wherever it starts."""
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    _copy_only(model, 1)
    with torch.no_grad():
        model.copy_query.weight.zero_()
    prompt = tokenizer.encode("invoice total cash date name Ben Roberts London", add_special_tokens=False)
    assert len(set(prompt)) == len(prompt)  # every continuation is unambiguous
    out = model.generate(torch.tensor([prompt]), max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    answer = out[0, len(prompt) :].tolist()
    start = prompt.index(answer[0])  # blind, the first token is a tie broken by id: "s" of "Roberts"
    assert start + 4 <= len(prompt) and answer == prompt[start : start + 4]
    model.config.match_length = 0  # without span copy the same model stays blind
    plain = model.generate(torch.tensor([prompt]), max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert plain[0, len(prompt) :].tolist() != answer


def test_the_span_copy_state_follows_a_cache_cropped_back_over_several_calls(model_dir, tokenizer):
    """A draft model reads its proposals one call each; when the model rejects some, the draft's cache is
    cropped back over several calls, and its span-copy state must return to where it was before them."""
    from benchmark.pointer import UNDO_TOKENS

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    prompt = tokenizer.encode("name Ben Roberts\nLondon\nkey:", add_special_tokens=False)
    answer = tokenizer.encode(" Ben Roberts London", add_special_tokens=False)
    ids = torch.tensor([prompt + answer])
    width = torch.tensor([len(prompt)])

    def state() -> MatchState:
        return MatchState(ids[:, : len(prompt)], width, model.twin, model.copyable, cap=3, undoable=True)

    once, stepwise = state(), state()
    expected = once.read(ids[:, len(prompt) : len(prompt) + 1], len(prompt))  # the first answer token, then a wrong turn
    for t in range(len(answer)):
        stepwise.read(ids[:, len(prompt) + t : len(prompt) + t + 1], len(prompt) + t)
    again = stepwise.read(ids[:, len(prompt) : len(prompt) + 1], len(prompt))  # cropped back to the prompt: read anew
    torch.testing.assert_close(again, expected)
    far = state()
    for t in range(UNDO_TOKENS + 1):
        far.read(ids[:, -1:], len(prompt) + t)
    with pytest.raises(ValueError, match="cropped further back"):
        far.read(ids[:, -1:], len(prompt))


@pytest.mark.parametrize("copying", [False, True])
def test_prompt_lookup_and_a_static_cache_decode_as_greedy_does(dataset, model_dir, copying):
    """The copy memory and span-copy state follow a cache that prompt lookup crops (rejected proposals) and a
    static cache (left-padded rows), so the reference models run every AR mode with greedy decoding's answers."""
    from benchmark.data import load_eval_set

    adapter = load_adapter(ModelSpec(str(model_dir)))
    if copying:
        _copy_only(adapter.model, 1)  # copying from the prompt: prompt lookup's proposals are accepted too
    docs = load_eval_set(str(dataset), limit=3).documents
    greedy = [r.output for r in adapter.ar(docs, max_new_tokens=24)]
    lookup = adapter.ar(docs, max_new_tokens=24, decoding=Decoding(lookup_tokens=5))
    static = adapter.ar(docs, max_new_tokens=24, decoding=Decoding("static"))
    # a copy-head draft proposes tokens one call each, and its cache is cropped back over several of them
    draft = load_adapter(ModelSpec(str(model_dir))).model
    torch.manual_seed(2)
    with torch.no_grad():
        for weight in draft.parameters():
            weight.add_(torch.randn_like(weight) * 0.05)
    drafted = adapter.ar(docs, max_new_tokens=24, decoding=Decoding(assistant=draft))
    assert [r.output for r in lookup] == [r.output for r in static] == [r.output for r in drafted] == greedy
    assert {r.forward_passes for r in static} == {None}
    if copying:
        assert all(r.forward_passes < r.new_tokens for r in lookup)


def test_the_harness_fills_every_mask_in_one_forward_call(dataset, model_dir):
    adapter = load_adapter(ModelSpec(str(model_dir)))
    assert adapter.name == "causal-lm" and adapter.info()["family"] == "pip-kie-pointer"
    from benchmark.data import load_eval_set

    docs = load_eval_set(str(dataset), limit=3).documents
    budgets = derive_budgets(adapter.tokenizer, docs)
    calls = []
    hook = adapter.model.register_forward_hook(lambda *_: calls.append(1))
    try:
        results = adapter.pip(docs, budgets, "bidirectional")
    finally:
        hook.remove()
    assert len(calls) == 1 and [r.slots for r in results] == [sum(budgets[d.doc_type].values()) for d in docs]


def test_added_tokens_extend_the_tables_and_are_never_copied(tokenizer):
    config = PointerConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)
    model = PointerForCausalLM(config)
    model.resize_token_embeddings(len(tokenizer) + 2)
    assert model.twin.tolist()[-2:] == [len(tokenizer), len(tokenizer) + 1] and not model.copyable[-2:].any()


def _span_model(model_dir: Path, out: Path) -> Path:
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    model.config.pip_answer, model.config.span_copy = "span", False
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(out)
    return out


def test_span_examples_point_at_where_each_value_is_printed(dataset, tokenizer):
    from benchmark.data import load_eval_set

    docs = load_eval_set(str(dataset), "train").documents
    mask = tokenizer.convert_tokens_to_ids(MASK)
    pointed = 0
    for doc, ex in zip(docs, span_examples(tokenizer, docs), strict=True):
        masks = [i for i, t in enumerate(ex.ids) if t == mask]
        assert len(masks) == 2 * len(DOC_TYPES[doc.doc_type]) and ex.span_start == masks[0]
        assert pip_instruction(doc.doc_type, "span") in tokenizer.decode(ex.ids) and ", ".join(
            DOC_TYPES[doc.doc_type]
        ) not in tokenizer.decode(ex.ids)
        for key, first, last in zip(DOC_TYPES[doc.doc_type], masks[::2], masks[1::2], strict=True):
            value = doc.gold[key]
            if value is None:
                assert ex.sources[first] == [] and ex.labels[last] == -100  # trained not to copy; the end has nothing to learn
                continue
            assert len(ex.sources[first]) == len(ex.sources[last]) >= 1  # every synthetic value is printed
            # where the words spell the value, there; where OCR noise changed them, the words it was read as
            read = value if value_spans(doc.text, value) else " ".join(doc.text[slice(*doc.printed[key])].split())
            for start, end in zip(ex.sources[first], ex.sources[last], strict=True):
                assert start < masks[0] and " ".join(tokenizer.decode(ex.ids[start : end + 1]).split()) == read
                pointed += 1
    assert pointed > 50


def test_span_training_scores_the_copy_probabilities_the_harness_reads(dataset, tokenizer, model_dir, tmp_path):
    """The span loss of one document is -log of the copy probability the inference forward puts on the
    positions where each value is printed, or of not copying for an absent key; a value that is not printed
    as a run of words keeps the token loss."""
    from benchmark.data import load_eval_set

    model = AutoModelForCausalLM.from_pretrained(_span_model(model_dir, tmp_path / "span")).eval()
    doc = next(d for d in load_eval_set(str(dataset), "train").documents if None in d.gold.values())
    key = next(k for k, v in doc.gold.items() if v is not None)
    doc.gold[key] = "Zq7 not printed"  # no such run of words, and no words linked: the fallback token target
    doc.printed.pop(key, None)
    (example,) = span_examples(tokenizer, [doc])
    batch = collate([example], tokenizer.pad_token_id, "bidirectional")
    with torch.no_grad():
        loss = shifted_loss(model, batch)
        labelled = [i for i, t in enumerate(example.labels) if t != -100]
        wanted, _ = logit_positions([labelled])
        keep = torch.tensor(wanted)
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids")}
        copy = model(**inputs, logits_to_keep=keep, output_copy_probs=True).copy_probs[0]
        logits = model(**inputs, logits_to_keep=keep).logits[0]
    kinds, expected = set(), []
    for i, p in enumerate(labelled):
        if example.sources.get(p):
            kinds.add("pointed")
            expected.append(-copy[i, example.sources[p]].sum().log())
        elif p in example.sources:
            kinds.add("absent")
            expected.append(-(1 - copy[i].sum()).log())
        else:
            kinds.add("not printed")
            expected.append(torch.nn.functional.cross_entropy(logits[i], torch.tensor(example.labels[p])))
    assert kinds == {"pointed", "absent", "not printed"}
    torch.testing.assert_close(loss, torch.stack(expected).mean(), rtol=1e-4, atol=1e-4)


def test_the_harness_reads_a_span_model_in_one_forward_call(dataset, model_dir, tmp_path, capsys, monkeypatch):
    span_dir = _span_model(model_dir, tmp_path / "span")
    adapter = load_adapter(ModelSpec(str(span_dir)))
    from benchmark.data import load_eval_set
    from benchmark.evaluate import _budgets

    evalset = load_eval_set(str(dataset), limit=4)
    budgets = _budgets(adapter, evalset)
    assert adapter.pip_answer() == "span" and all(set(b.values()) == {2} for b in budgets.values())
    _copy_only(adapter.model, 1)  # every key copies: each value is a run of the prompt's tokens
    calls = []
    hook = adapter.model.register_forward_hook(lambda *_: calls.append(1))
    try:
        results = adapter.pip(evalset.documents, budgets, "bidirectional")
    finally:
        hook.remove()
    assert len(calls) == 1
    for doc, result in zip(evalset.documents, results, strict=True):
        assert result.slots == 2 * len(DOC_TYPES[doc.doc_type]) and tuple(result.values) == DOC_TYPES[doc.doc_type]
        flat = " ".join(result.prompt.split())
        assert all(value and value in flat for value in result.values.values())
    # each key's span is read within the length its doc type declares for it (config.pip_span_lengths)
    import benchmark.adapters.base as base
    from benchmark.pip import read_span

    lengths = {t: {k: i + 1 for i, k in enumerate(DOC_TYPES[t])} for t in DOC_TYPES}
    adapter.model.config.pip_span_lengths, bounds = lengths, []
    monkeypatch.setattr(
        base, "read_span", lambda start, end, limit, longest: bounds.append(longest) or read_span(start, end, limit, longest)
    )
    adapter.pip(evalset.documents, budgets, "bidirectional")
    assert bounds == [lengths[d.doc_type][k] for d in evalset.documents for k in DOC_TYPES[d.doc_type]]
    bounds.clear()
    assert [r.values for r in adapter.pip(evalset.documents, budgets, "bidirectional", span_length="any")] == [r.values for r in results]
    assert set(bounds) == {None}
    monkeypatch.undo()
    _copy_only(adapter.model, 0)  # the gate never copies: every key is unknown
    assert all(v is None for r in adapter.pip(evalset.documents, budgets, "bidirectional") for v in r.values.values())
    # grounding is for token answers: refused in one line, before any work
    args = [
        "evaluate",
        str(span_dir),
        "--dataset",
        str(dataset),
        "--modes",
        "pip",
        "--pip-constraint",
        "grounded",
        "--output-dir",
        str(tmp_path),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "is for token answers" in err and "Traceback" not in err


def test_a_span_is_read_from_its_start_on_and_only_when_the_start_mask_copies():
    from benchmark.pip import read_span

    start = torch.tensor([0.0, 0.1, 0.6, 0.1, 0.0])
    end = torch.tensor([0.9, 0.0, 0.0, 0.0, 0.5])  # most of the end's mass lies before the start: not a span
    assert read_span(start, end) == (2, 4)
    assert read_span(start, torch.tensor([0.0, 0.0, 0.7, 0.1, 0.0])) == (2, 2)  # a one-token value
    assert read_span(start * 0.4, end) is None  # copies with probability 0.32 < 1/2: the model answers unknown
    # the most likely pair, not the most likely start: 0.3 * 0.9 beats 0.4 * 0.1 (whose only end is weak)
    assert read_span(torch.tensor([0.0, 0.3, 0.0, 0.4, 0.0]), torch.tensor([0.0, 0.9, 0.0, 0.1, 0.0])) == (1, 1)
    end = torch.tensor([0.5, 0.01, 0.02, 0.03, 0.44])
    assert read_span(start, end) == (2, 4) and read_span(start, end, limit=4) == (2, 3)  # nothing at or past the document's end


def test_a_span_is_read_within_its_longest_length():
    from benchmark.pip import read_span

    start = torch.tensor([0.0, 0.6, 0.0, 0.0, 0.4, 0.0])
    end = torch.tensor([0.0, 0.0, 0.1, 0.0, 0.05, 0.85])  # the likeliest end lies four tokens after the likeliest start
    assert read_span(start, end) == (1, 5)
    assert read_span(start, end, longest=2) == (4, 5)  # 0.4 * 0.85 within two tokens beats 0.6 * 0.1
    assert read_span(start, end, longest=1) == (4, 4)  # a one-token bound: start and end on one token
    assert read_span(start, end, limit=5, longest=3) == (1, 2)  # and never past the document's end
    assert read_span(start, end, longest=10) == read_span(start, end)  # a bound longer than the document


def test_a_bounded_span_is_the_most_likely_pair_of_a_brute_force_search():
    """The sliding maximum in ``read_span`` against every (first, last) pair with first <= last < first + longest,
    ties going to the earliest first, then the earliest last."""
    from benchmark.pip import read_span

    g = torch.Generator().manual_seed(0)
    for trial in range(300):
        n, longest = int(torch.randint(1, 60, (1,), generator=g)), int(torch.randint(1, 12, (1,), generator=g))
        start, end = torch.rand(n, generator=g), torch.rand(n, generator=g)
        if trial % 3 == 0:
            end = (end * 3).round() / 3  # many equal ends
        start = start / start.sum()
        best, pair = -1.0, None
        for i in range(n):
            for j in range(i, min(n, i + longest)):
                if float(start[i] * end[j]) > best:
                    best, pair = float(start[i] * end[j]), (i, j)
        assert read_span(start, end, longest=longest) == pair, (trial, n, longest)


def test_longest_spans_count_the_tokens_each_key_is_trained_to_point_at(tokenizer):
    """The bound a span model declares is its longest pointed value, per doc type and key, in tokens."""
    keys = DOC_TYPES["receipt"]
    short = {**dict.fromkeys(keys), "company": "ACME", "total": "12.50"}
    long = {**dict.fromkeys(keys), "company": "ACME TRADING AND SONS", "total": "1,234.50"}
    docs = [
        Document("a", "receipt", "ACME\nTOTAL 12.50", short),
        Document("b", "receipt", "ACME TRADING AND SONS\nTOTAL 1,234.50", long),
        Document("c", "receipt", "NO VALUES HERE", {**dict.fromkeys(keys), "total": "9.99"}),  # not printed: nothing to count
    ]
    tokens = {v: len(tokenizer(" " + v, add_special_tokens=False)["input_ids"]) for v in ("ACME TRADING AND SONS", "1,234.50", "12.50")}
    assert tokens["1,234.50"] > tokens["12.50"]
    lengths = longest_spans(tokenizer, span_examples(tokenizer, docs), docs)
    assert lengths == {"receipt": {"company": tokens["ACME TRADING AND SONS"], "total": tokens["1,234.50"]}}
    # an --init model's own bounds are kept where they are longer, and for keys this run never points at
    own = {"receipt": {"total": 40, "date": 3}, "form": {"full_name": 7}}
    merged = longest_spans(tokenizer, span_examples(tokenizer, docs), docs, own)
    assert merged == {"form": {"full_name": 7}, "receipt": {"company": tokens["ACME TRADING AND SONS"], "date": 3, "total": 40}}


def test_span_answers_are_read_from_the_document_only(model_dir, tmp_path):
    """The harness bounds a span by ``</document>``: a pointer into the instruction is never read."""
    adapter = load_adapter(ModelSpec(str(_span_model(model_dir, tmp_path / "span"))))
    ids = adapter.tokenizer("<document>\nA B\n</document>\nExtract: [mask]", add_special_tokens=False)["input_ids"]
    close = adapter.tokenizer("</document>", add_special_tokens=False)["input_ids"]
    end = adapter._document_end(ids, len(ids) - 1)
    assert ids[end : end + len(close)] == close and adapter._document_end(ids, end) is None


def test_value_spans_are_whole_words_and_a_line_break_is_a_space():
    from benchmark.pip import value_spans

    text = "ACME Ltd\n12 Main St\nTotal 12.00 12"
    assert value_spans(text, "12 Main St") == [(9, 19)]
    assert value_spans(text, "Ltd 12") == [(5, 11)]  # printed across a line break
    assert value_spans(text, "12") == [(9, 11), (32, 34)]  # not inside "12.00"
    assert value_spans(text, "Mai") == [] and value_spans(text, "") == []


def test_a_span_ends_after_every_token_of_its_last_character(tokenizer):
    from benchmark.pip import token_at

    text = "Land SYRIË x"
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
    end = text.index("Ë")
    first, last = token_at(offsets, text.index("S")), token_at(offsets, end, last=True)
    assert token_at(offsets, end) < last  # the byte-level tokenizer splits Ë in two
    assert tokenizer.decode(ids[first : last + 1]).strip() == "SYRIË"


def test_a_span_pointed_inside_a_word_is_widened_to_the_whole_word():
    """The masks point at tokens; a value is whole words: ``02/JAN/20`` (the year split in two) reads ``02/JAN/2017``."""
    from transformers import AutoTokenizer

    from benchmark.pip import token_spacing, whole_words
    from benchmark.shipped import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("pip-ref"))
    text = "DATE : 02/JAN/2017 10:49"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    spacing = token_spacing(tokenizer)
    assert spacing is not None
    pieces = [tokenizer.decode(ids[: i + 1]) for i in range(len(ids))]
    date_first = next(i for i, p in enumerate(pieces) if p.endswith(" 0") or p.endswith(" 02"))
    year_20 = next(i for i, p in enumerate(pieces) if p.endswith("/20"))
    assert not pieces[year_20].endswith("2017")  # the year is split: the model can stop inside it
    first, last = whole_words((date_first + 1, year_20), ids, spacing)
    assert tokenizer.decode(ids[first : last + 1]).strip() == "02/JAN/2017"
    assert whole_words((first, last), ids, spacing) == (first, last)  # whole words stay as they are
    assert whole_words((first, year_20), ids, spacing, limit=year_20 + 1)[1] == year_20  # never past the limit


def test_spans_stay_as_pointed_when_the_tokenizer_hides_its_spaces():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from benchmark.pip import token_spacing

    words = Tokenizer(models.WordLevel({"[UNK]": 0, "DATE": 1, "02/JAN/2017": 2}, unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    assert token_spacing(PreTrainedTokenizerFast(tokenizer_object=words)) is None

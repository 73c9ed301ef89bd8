"""pip-bench train: examples match the harness's prompts, the loss is the model's own, resume is exact."""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

import benchmark.train as train_module
from benchmark.cli import main
from benchmark.data import Document, gold_values, load_eval_set, printed_spans
from benchmark.parallel import Processes
from benchmark.pip import derive_budgets
from benchmark.train import (
    IGNORE_ID,
    TrainConfig,
    _share,
    ar_examples,
    collate,
    longest_spans,
    new_model,
    parse_duration,
    pip_examples,
    shifted_loss,
    span_examples,
    train,
)
from datagen.build import build
from datagen.build_plan import BuildConfig
from datagen.prompts import MASK, PAD, ar_target, document_text
from tests.helpers import sroie_receipts
from tests.tiny_models import TOKENIZER, tiny_idefics3, tiny_llama

TINY = {"hidden_size": 32, "layers": 1, "heads": 2, "intermediate_size": 64, "batch_size": 4}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("train") / "ds"
    build(BuildConfig(n=30, seed=9, image_format="none", width=256, calibration_docs=40, shard_size=15), out, workers=1)
    return out


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(TOKENIZER)


def test_ar_examples_label_exactly_the_json_answer_and_eos(dataset, tokenizer):
    docs = load_eval_set(str(dataset), "train", limit=3).documents
    for doc, ex in zip(docs, ar_examples(tokenizer, docs), strict=True):
        answer = [t for t in ex.labels if t != -100]
        assert answer[-1] == tokenizer.eos_token_id
        fields = [{"key": k, "value": v, "present": v is not None} for k, v in doc.gold.items()]
        assert tokenizer.decode(answer[:-1]) == ar_target(fields)
        assert ex.ids[-len(answer) :] == answer  # the answer is the end of the sequence


def test_pip_examples_label_every_mask_and_only_masks(dataset, tokenizer):
    docs = load_eval_set(str(dataset), "train", limit=4).documents
    budgets = derive_budgets(tokenizer, docs)
    mask = tokenizer.convert_tokens_to_ids(MASK)
    for doc, ex in zip(docs, pip_examples(tokenizer, docs, budgets), strict=True):
        labelled = [i for i, t in enumerate(ex.labels) if t != -100]
        assert labelled == [i for i, t in enumerate(ex.ids) if t == mask]
        assert len(labelled) == sum(budgets[doc.doc_type].values()) and ex.span_start == labelled[0]
        first_key = next(iter(doc.gold))
        value = doc.gold[first_key] or "unknown"
        budget = budgets[doc.doc_type][first_key]
        decoded = tokenizer.decode([ex.labels[i] for i in labelled[:budget]], skip_special_tokens=True)
        assert decoded.strip() == value or len(tokenizer.encode(value, add_special_tokens=False)) > budget


def _config(dataset: Path, **kw) -> TrainConfig:
    return TrainConfig(**{"mode": "ar", "dataset": str(dataset), "steps": 4, **TINY, **kw})


def test_ar_then_pip_from_it_gives_loadable_models_with_cards(dataset, tmp_path, capsys):
    ar = train(_config(dataset), tmp_path / "ar", eval_docs=2)
    model = AutoModelForCausalLM.from_pretrained(ar)
    card = (ar / "README.md").read_text()
    assert not hasattr(model.config, "pip_budgets") and "pip-bench train" in card
    assert re.search(r"tokens \([0-9,]+ tokens/s\)", card) and re.search(r"- memory: peak resident memory [0-9.]+ GiB", card)
    pip = tmp_path / "pip"
    code = main(
        [
            "train",
            "--mode",
            "pip",
            "--dataset",
            str(dataset),
            "--init",
            str(ar),
            "--out",
            str(pip),
            "--steps",
            "2",
            "--eval-docs",
            "2",
            "--batch-size",
            "4",
        ]
    )
    assert code == 0
    config = json.loads((pip / "config.json").read_text())
    assert config["pip_budgets"] and config["pip_attention"] == "bidirectional" and config["hidden_size"] == 32
    card = (pip / "README.md").read_text()
    assert "--init" in card and "PIP mode, 2 documents: field F1" in card and "AR mode, 2 documents" in card  # --mix-ar 0.25 by default
    # an untrained model's AR answers are cut a quarter past the longest trained answer, not at the harness's 512
    cut = int(re.search(r"AR mode, 2 documents \(answers cut at (\d+) tokens", card).group(1))
    longest = max(
        sum(label != IGNORE_ID for label in e.labels)
        for e in ar_examples(AutoTokenizer.from_pretrained(pip), load_eval_set(str(dataset), "train").documents)
    )
    assert cut == math.ceil(1.25 * longest) < 512
    # the card ships with the weights: folders by name, no path of the machine that trained them
    assert str(tmp_path) not in card and str(dataset.parent) not in card and "--init ar --out pip" in card
    # the harness evaluates the PIP model with the budgets it was trained with
    out = tmp_path / "results"
    assert (
        main(
            [
                "evaluate",
                str(pip),
                "--dataset",
                str(dataset),
                "--limit",
                "2",
                "--modes",
                "pip",
                "--timing-docs",
                "0",
                "--output-dir",
                str(out),
            ]
        )
        == 0
    )
    (results,) = out.glob("results_*.json")
    used = json.loads(results.read_text())["config"]["pip_budgets"]
    assert all(used[t] == config["pip_budgets"][t] for t in used)


@pytest.fixture(scope="module")
def ar_model(dataset, tmp_path_factory) -> Path:
    return train(_config(dataset, steps=30), tmp_path_factory.mktemp("trained") / "ar", eval_docs=0)


def _loss(model: torch.nn.Module, examples: list, tokenizer, attention: str | None) -> float:
    model.eval()
    with torch.no_grad():
        return float(shifted_loss(model, collate(examples, tokenizer.pad_token_id, attention)))


def test_a_tiny_ar_run_decreases_the_loss(dataset, ar_model, tokenizer):
    docs = load_eval_set(str(dataset), "train", limit=8).documents
    torch.manual_seed(0)  # what train() does before building the model: the run's own starting weights
    start = new_model(_config(dataset), tokenizer)
    examples = ar_examples(tokenizer, docs)
    trained = AutoModelForCausalLM.from_pretrained(ar_model, dtype=torch.float32)
    assert _loss(trained, examples, tokenizer, None) < 0.9 * _loss(start, examples, tokenizer, None)


@pytest.mark.parametrize("answer", ["tokens", "span"])
def test_a_tiny_pip_run_from_the_ar_model_decreases_the_loss(dataset, ar_model, tokenizer, tmp_path, capsys, answer):
    out = train(_config(dataset, mode="pip", init=str(ar_model), steps=30, pip_answer=answer), tmp_path / "pip", eval_docs=2)
    if answer == "span":  # every synthetic value is printed: all of them are pointed at
        pointed, present = re.search(r"span answers: (\d+) of (\d+) present values", capsys.readouterr().err).groups()
        assert pointed == present != "0"
    docs = load_eval_set(str(dataset), "train", limit=8).documents
    trained = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    start = AutoModelForCausalLM.from_pretrained(ar_model, dtype=torch.float32)
    start.config.span_copy = trained.config.span_copy
    if answer == "span":
        examples = span_examples(tokenizer, docs)
        assert trained.config.pip_answer == "span" and not trained.config.span_copy
        assert all(set(budgets.values()) == {2} for budgets in trained.config.pip_budgets.values())
        every = load_eval_set(str(dataset), "train").documents  # the model declares the bound of all it trained on
        assert trained.config.pip_span_lengths == longest_spans(tokenizer, span_examples(tokenizer, every), every) != {}
    else:
        examples = pip_examples(tokenizer, docs, trained.config.pip_budgets)
    assert _loss(trained, examples, tokenizer, "bidirectional") < 0.8 * _loss(start, examples, tokenizer, "bidirectional")
    results = tmp_path / "results"
    assert (
        main(
            [
                "evaluate",
                str(out),
                "--dataset",
                str(dataset),
                "--limit",
                "3",
                "--modes",
                "pip",
                "--timing-docs",
                "0",
                "--output-dir",
                str(results),
            ]
        )
        == 0
    )
    (path,) = results.glob("results_*.json")
    data = json.loads(path.read_text())
    assert data["model"]["pip_answer"] == answer and data["modes"]["pip"]["num_documents"] == 3
    if answer == "span":
        assert data["modes"]["pip"]["budget_overflow"] == 0 and all(set(b.values()) == {2} for b in data["config"]["pip_budgets"].values())


def test_any_causal_lm_trains_as_pip_with_the_mask_tokens_evaluation_adds(dataset, tmp_path, capsys):
    """A model whose tokenizer has no [mask] and no pad token (a plain Hub model) is trained with them added as
    ``pip-bench evaluate`` adds them, and the trained folder evaluates in PIP mode with no token added there."""
    from benchmark.pip import ensure_pip_tokens
    from tests.tiny_models import bare_tokenizer

    base = tiny_llama(tmp_path / "bare", tokenizer=bare_tokenizer())
    out = train(_config(dataset, mode="pip", init=str(base), head="lm", steps=3, mix_ar=0.25), tmp_path / "pip", eval_docs=2)
    assert f"added {MASK}, {PAD} to its tokenizer" in capsys.readouterr().err
    tokenizer, model = AutoTokenizer.from_pretrained(out), AutoModelForCausalLM.from_pretrained(out)
    assert MASK in tokenizer.get_vocab() and model.get_input_embeddings().num_embeddings == len(tokenizer)
    assert not ensure_pip_tokens(tokenizer, model)  # nothing left to add at evaluation time
    args = ["evaluate", str(out), "--dataset", str(dataset), "--limit", "3", "--modes", "ar,pip", "--timing-docs", "0"]
    assert main([*args, "--output-dir", str(tmp_path / "results")]) == 0
    assert "had no [mask] token" not in capsys.readouterr().err


def test_lora_saves_an_adapter_folder_that_evaluates_as_its_merged_twin(dataset, ar_model, tmp_path, tokenizer, capsys):
    pytest.importorskip("peft")
    from benchmark.adapters.base import ModelSpec, load_model

    config = _config(dataset, mode="pip", init=str(ar_model), steps=30, lora=4, lr=1e-2)
    adapter = train(config, tmp_path / "adapter", eval_docs=2)  # the validation loads the folder the way evaluate does
    merged = train(config, tmp_path / "merged", eval_docs=0, merge=True)
    assert (adapter / "adapter_config.json").is_file() and not (adapter / "config.json").is_file()
    card = (adapter / "README.md").read_text()
    trained, total = (int(n.replace(",", "")) for n in re.search(r"trained parameters: ([\d,]+) of ([\d,]+)", card).groups())
    assert trained < 0.5 * total and "LoRA rank 4" in card and "PIP mode, 2 documents" in card
    docs = load_eval_set(str(dataset), "train", limit=8).documents
    examples = pip_examples(tokenizer, docs, derive_budgets(tokenizer, docs))
    batch = collate(examples, tokenizer.pad_token_id, "bidirectional")
    start = AutoModelForCausalLM.from_pretrained(ar_model, dtype=torch.float32)
    plain = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32)  # a plain model folder: no peft needed
    on_base = load_model(AutoModelForCausalLM, ModelSpec(str(adapter)), AutoTokenizer.from_pretrained(adapter))
    assert type(plain) is type(on_base) is type(start)
    with torch.no_grad():
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids")}
        a, b = plain(**inputs).logits, on_base(**inputs).logits
    assert torch.allclose(a, b, atol=0.05) and (a.argmax(-1) == b.argmax(-1)).float().mean() > 0.99  # merged weights are float16
    # rank 4 on a one-layer, 32-wide model learns slowly (30 full steps: -24%); the adapters must still move it
    assert _loss(plain, examples, tokenizer, "bidirectional") < 0.95 * _loss(start, examples, tokenizer, "bidirectional")
    capsys.readouterr()
    args = ["evaluate", str(adapter), "--dataset", str(dataset), "--limit", "3", "--modes", "ar,pip", "--timing-docs", "0"]
    assert main([*args, "--output-dir", str(tmp_path / "results")]) == 0
    assert "pip: F1" in capsys.readouterr().out.replace("  ", " ")


def test_a_damaged_adapter_folder_is_one_line_and_exit_2(dataset, tmp_path, capsys):
    base = tiny_llama(tmp_path / "llama")
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(base)}))
    (folder / "pip_config.json").write_text("{not json")
    args = ["evaluate", str(folder), "--dataset", str(dataset), "--limit", "2", "--timing-docs", "0", "--output-dir", str(tmp_path / "r")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "pip_config.json: not the PIP settings pip-bench train writes" in err and "Traceback" not in err


def test_checkpoints_do_not_change_the_weights(dataset, tmp_path, monkeypatch):
    """Checkpoints come every few minutes of wall clock, so a faster machine takes fewer: the same --steps must
    give the same weights however many were taken."""
    monkeypatch.setattr(train_module, "CHECKPOINT_EVERY_S", 1e9)  # never
    never = train(_config(dataset, steps=6), tmp_path / "never", eval_docs=0)
    monkeypatch.setattr(train_module, "CHECKPOINT_EVERY_S", 0)  # after every step
    always = train(_config(dataset, steps=6), tmp_path / "always", eval_docs=0)
    a, b = load_file(never / "model.safetensors"), load_file(always / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_an_interrupted_run_resumes_to_the_same_weights(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "CHECKPOINT_EVERY_S", 0)  # checkpoint after every step
    whole = train(_config(dataset), tmp_path / "whole", eval_docs=0)

    calls = {"n": 0}
    real = train_module.shifted_loss

    def crash_on_third_step(model, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(model, batch)

    monkeypatch.setattr(train_module, "shifted_loss", crash_on_third_step)
    with pytest.raises(KeyboardInterrupt):
        train(_config(dataset), tmp_path / "resumed", eval_docs=0)
    assert list((tmp_path / "resumed" / ".train").glob("checkpoint-*.pt"))
    monkeypatch.setattr(train_module, "shifted_loss", real)
    train(_config(dataset), tmp_path / "resumed", eval_docs=0)
    a, b = load_file(whole / "model.safetensors"), load_file(tmp_path / "resumed" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not list((tmp_path / "resumed" / ".train").glob("checkpoint-*.pt"))


def test_parse_duration():
    assert parse_duration("60m") == 3600 and parse_duration("1.5h") == 5400 and parse_duration("90s") == 90 and parse_duration("30") == 30


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "give --steps N or --time-budget"),
        (["--time-budget", "soon"], "expected e.g. 90s"),
        (["--steps", "2", "--init", "/no/such/model"], "cannot load"),
        (["--steps", "2", "--mix-ar", "0.5"], "--mix-ar must be in [0, 1) and is for --mode pip"),
        (["--steps", "2", "--init", "TINY_LLAMA"], "is a LlamaForCausalLM; pass --head lm"),
        (["--steps", "2", "--pip-answer", "span"], "--pip-answer span is for --mode pip with the pointer head"),
        (["--steps", "2", "--train-docs", "0"], "--train-docs must be at least 1"),
        (["--steps", "2", "--lora", "-1"], "--lora must be 0 (train every weight) or a positive rank"),
        (["--steps", "2", "--merge"], "--merge is for --lora"),
        (["--steps", "2", "--grad-accum", "0"], "--grad-accum must be at least 1"),
        (["--steps", "2", "--dtype", "float16"], "--dtype float16 trains LoRA adapters only"),
        (["--steps", "2", "--dtype", "float16", "--dry-run"], "--dtype float16 trains LoRA adapters only"),
        (["--steps", "2", "--eval-split", "dev"], 'Unknown split "dev"'),
        (["--steps", "2", "--head", "lm", "--init", "TINY_IDEFICS3"], "the vlm adapter runs it on page images"),
        (["--steps", "2", "--head", "lm", "--init", "TINY_IDEFICS3", "--dry-run"], "the vlm adapter runs it on page images"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(dataset, tmp_path, capsys, args, needle):
    tiny = {"TINY_LLAMA": lambda: tiny_llama(tmp_path / "llama"), "TINY_IDEFICS3": lambda: tiny_idefics3(tmp_path / "idefics3")}
    args = [str(tiny[a]()) if a in tiny else a for a in args]
    assert main(["train", "--mode", "ar", "--dataset", str(dataset), "--out", str(tmp_path / "m"), *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()  # refused before any training


def test_few_shot_training_on_a_real_dataset_read_in_place(tmp_path, capsys):
    # SROIE-format files (train and test splits, no validation), as datagen's importer reads them
    root = tmp_path / "sroie"
    sroie_receipts(root, 3, split="train")
    sroie_receipts(root, 1, split="test", first=3)
    size = ["--hidden-size", "32", "--layers", "1", "--heads", "2", "--intermediate-size", "64", "--batch-size", "2"]
    args = ["train", "--mode", "ar", "--dataset", f"sroie:{root}", "--out", str(tmp_path / "m"), "--steps", "2", *size]
    assert main([*args, "--train-docs", "2"]) == 2  # the default --eval-split validation is not there: refused up front
    assert "score another split with --eval-split" in capsys.readouterr().err
    assert main([*args, "--train-docs", "2", "--eval-split", "test", "--eval-docs", "1"]) == 0
    card = (tmp_path / "m" / "README.md").read_text()
    assert "(train split); examples: 2 ar" in card and "## Scores (test split" in card
    # a second dataset's train split joins the first (to weight one kind of document); scoring stays on the first
    other = tmp_path / "other"
    sroie_receipts(other, 3, split="train", first=10)
    assert main([*args, "--out", str(tmp_path / "m2"), "--add-train", f"sroie:{other}", "--eval-split", "test", "--eval-docs", "1"]) == 0
    card = (tmp_path / "m2" / "README.md").read_text()
    assert f"+ `sroie:{other.name}` (train splits); examples: 6 ar" in card


def test_span_targets_follow_the_words_a_value_was_read_as(tokenizer):
    """With OCR noise the words may not spell the value ("T0TAL 4.5O"): the span points at the words the
    field is linked to, not at nothing (and never at another printing of a similar string)."""
    words = ["SHOP", "SDN", "BND", "TOTAL", "4.5O"]
    fields = [{"key": "company", "value": "SHOP SDN BHD", "present": True, "word_ids": [0, 1, 2]}]
    fields += [{"key": "total", "value": "4.50", "present": True, "word_ids": [4]}]
    line_ids = [0, 0, 0, 1, 1]
    doc = Document(
        id="x",
        doc_type="receipt",
        text=document_text(words, line_ids),
        gold=gold_values("receipt", fields),
        printed=printed_spans(words, line_ids, fields),
    )
    (example,) = span_examples(tokenizer, [doc])
    text = tokenizer.decode(example.ids)
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    masks = [i for i, t in enumerate(example.ids) if t == tokenizer.convert_tokens_to_ids(MASK)]
    order = ["company", "date", "address", "total"]  # the receipt schema's first keys: two masks each
    for key, printed in (("company", "SHOP SDN BND"), ("total", "4.5O")):
        k = order.index(key)
        (first,), (last,) = example.sources[masks[2 * k]], example.sources[masks[2 * k + 1]]
        assert text[offsets[first][0] : offsets[last][1]].strip() == printed


def test_gradient_checkpointing_and_accumulation_change_memory_not_the_recipe(dataset, tmp_path, monkeypatch):
    """Checkpointing recomputes the same activations: the same weights up to float rounding. Accumulation makes
    one optimizer step of ``grad_accum`` batches, each one ``batch_size`` examples."""
    plain = train(_config(dataset, steps=3), tmp_path / "plain", eval_docs=0)
    recomputed = train(_config(dataset, steps=3), tmp_path / "recomputed", eval_docs=0, gradient_checkpointing=True)
    a, b = load_file(plain / "model.safetensors"), load_file(recomputed / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)

    sizes: list[int] = []
    real = train_module.shifted_loss

    def counted(model, batch):
        sizes.append(len(batch["input_ids"]))
        return real(model, batch)

    monkeypatch.setattr(train_module, "shifted_loss", counted)
    accumulated = train(_config(dataset, steps=3, grad_accum=2), tmp_path / "accumulated", eval_docs=0)
    assert sizes == [TINY["batch_size"]] * 6
    c = load_file(accumulated / "model.safetensors")
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_bfloat16_training_saves_bfloat16_weights_that_evaluate(dataset, tmp_path):
    out = train(_config(dataset, steps=3, dtype="bfloat16"), tmp_path / "bf16", eval_docs=2)
    weights = load_file(out / "model.safetensors")
    assert {t.dtype for t in weights.values() if t.is_floating_point()} == {torch.bfloat16}  # float16 would overflow
    card = (out / "README.md").read_text()
    assert '"dtype": "bfloat16"' in card and "AR mode, 2 documents" in card


def test_dry_run_counts_what_the_run_would_hold_without_reading_weights(dataset, ar_model, tmp_path, capsys):
    pytest.importorskip("peft")
    from benchmark.train import load_start, with_lora
    from benchmark.train_memory import memory_plan

    config = _config(dataset, mode="pip", init=str(ar_model), lora=4, dtype="bfloat16")
    model, _, new_ids = load_start(config)
    real = with_lora(model, 4, sorted({*new_ids, model.config.mask_token_id}))
    trained = [p for p in real.parameters() if p.requires_grad]
    plan = memory_plan(config)
    assert plan.parameters == sum(p.numel() for p in real.parameters())
    assert plan.trained_parameters == sum(p.numel() for p in trained) < plan.parameters / 2
    assert plan.gradient_bytes == 4 * plan.trained_parameters  # LoRA adapters stay float32 on bfloat16 weights
    assert plan.optimizer_bytes == 2 * plan.gradient_bytes

    args = ["train", "--mode", "pip", "--dataset", str(dataset), "--init", str(ar_model), "--out", str(tmp_path / "never"), "--steps", "1"]
    assert main([*args, "--lora", "4", "--dtype", "bfloat16", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert f"{plan.parameters:,}" in printed and "AdamW moments" in printed and not (tmp_path / "never").exists()


def test_a_batch_shared_by_processes_weighs_each_share_by_its_labelled_tokens(dataset, tokenizer):
    """The weights make the processes' averaged gradients those of the whole batch's mean loss: they add up to the
    number of processes, in proportion to each share's labelled tokens; a process without a row runs one, weighed 0."""
    examples = ar_examples(tokenizer, load_eval_set(str(dataset), "train", limit=3).documents)
    labelled = [sum(label != IGNORE_ID for label in e.labels) for e in examples]
    shares = [_share(examples, Processes(i, 2)) for i in (0, 1)]
    assert [rows for rows, _ in shares] == [[examples[0], examples[2]], [examples[1]]]
    assert shares[1][1] == pytest.approx(2 * labelled[1] / sum(labelled)) and sum(w for _, w in shares) == pytest.approx(2)
    assert _share(examples[:1], Processes(1, 2)) == (examples[:1], 0.0)
    assert _share(examples, Processes()) == (examples, 1.0)


def test_two_processes_train_the_weights_of_one(dataset, tmp_path):
    """A data-parallel run on CPU (torchrun, gloo; DDP through accelerate): each process takes half of every batch,
    and the weights come out as one process makes them, up to float rounding; the first process saves and writes
    the card, and the validation runs data parallel as well."""
    args = ["train", "--mode", "pip", "--pip-answer", "span", "--mix-ar", "0.5", "--dataset", str(dataset), "--steps", "4"]
    args += ["--hidden-size", "32", "--layers", "1", "--heads", "2", "--intermediate-size", "64", "--batch-size", "4", "--eval-docs", "2"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    cmd = ["torchrun", "--standalone", "--nproc_per_node", "2", "-m", "benchmark.cli", *args, "--out", str(tmp_path / "two")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    a, b = load_file(tmp_path / "one" / "model.safetensors"), load_file(tmp_path / "two" / "model.safetensors")
    # saved as float16: a sum taken in another order may round to the neighbouring value (6e-5 apart near 0.09)
    assert a.keys() == b.keys() and all(torch.allclose(a[k].float(), b[k].float(), atol=1e-4) for k in a)
    cards = [(tmp_path / run / "README.md").read_text() for run in ("one", "two")]
    assert [re.search(r"final loss [0-9.]+", card)[0] for card in cards] == [re.search(r"final loss [0-9.]+", cards[0])[0]] * 2
    assert "x 2 processes (data parallel" in cards[1] and "PIP mode, 2 documents" in cards[1]
    one, two = (int(re.search(r"([0-9]+) tokens \(", card)[1]) for card in cards)
    assert two <= one  # each process read its half of every batch (padded to its own longest row), not all of it

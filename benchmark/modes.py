"""The inference modes ``pip-bench evaluate`` runs, in a module of their own so that the command line and
the leaderboard know them without importing torch.

"Faster than what?": PIP's speedup is only as honest as its AR baseline, so besides plain greedy
``generate`` a run can time the AR accelerations a practitioner would try first. All of them decode
greedily and exactly, so their answers equal ``ar``'s and only their speed differs.
"""

from __future__ import annotations

from typing import TypedDict

AR_MODES = ("ar", "ar-lookup", "ar-static", "ar-draft")
MODES = (*AR_MODES, "pip")
DEFAULT_MODES = ("ar", "pip")
MODE_HELP = {
    "ar": "greedy generate with the dynamic KV cache (--cache-implementation changes it)",
    "ar-lookup": "greedy generate with prompt-lookup decoding: proposals copied from the prompt's n-grams and checked by "
    "the model in one pass; ar's answers, one document at a time",
    "ar-static": "greedy generate with a static KV cache, the decode step compiled with torch.compile on CUDA; ar's answers",
    "ar-draft": "greedy generate with assisted decoding: a smaller draft model (--draft-model, same tokenizer) proposes tokens "
    "that the model checks in one pass; ar's answers, one document at a time",
    "pip": "one forward pass over a masked prompt",
}
# Tokens prompt lookup proposes a step. Measured with ar-ref on a 2-core CPU (15 documents, 182 answer tokens
# each; plain ar 979 ms a document): 3 and 5 tie (1,060 and 1,071 ms), 10 is slower (1,173 ms); 5 needs fewer
# passes (92 a document against 98), which counts where a pass costs more (larger models, GPUs).
LOOKUP_TOKENS = 5
# Assisted decoding (``ar-draft``) needs the model and its draft to share a vocabulary; transformers' universal
# assisted decoding, which maps between two tokenizers, is not offered: it re-tokenizes text every round.
# How long a span answer may be read (``benchmark.pip.read_span``): within its key's longest value in the
# model's training data (``config.pip_span_lengths``), or at any length.
SPAN_LENGTHS = ("trained", "any")


class Timing(TypedDict):
    """How a run is timed after it is scored (``EvalConfig``'s timing fields and their command-line options)."""

    timing_docs: int  # documents timed at batch 1
    timing_batch_sizes: tuple[int, ...]  # throughput batch sizes
    warmup: int  # untimed warm-up documents


# The full measurement, and --quick's first look (a speedup read off 10 documents at batch 1; the batches of 8 and
# 32 take most of an AR run's time on a CPU).
TIMING: Timing = {"timing_docs": 50, "timing_batch_sizes": (1, 8, 32), "warmup": 3}
QUICK_TIMING: Timing = {"timing_docs": 10, "timing_batch_sizes": (1,), "warmup": 1}

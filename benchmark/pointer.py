"""A Llama with a copy (pointer) head: the reference models' architecture variant.

Why. Nearly every field value is printed on the document, so extracting it is copying tokens from the
prompt. A small Llama trained from scratch on a laptop CPU learns the answer *format* quickly but copying
(induction heads) only slowly: the plain reference models reached field F1 ~0.05 in an hour. A pointer
head (See et al. 2017, "Get To The Point") gives copying directly: at each position the next-token
distribution is a gated mixture of

- *generate*: the usual LM head over the vocabulary,
- *copy*: an attention over the tokens the position may see, each source putting its weight on its own
  token id,
- *copy-twin*: the same attention, the weight put on the source token's space-toggled twin (``Ġtotal``
  ↔ ``total``): a byte-level BPE spells a word differently at a line start and mid-line, and a value
  copied from the middle of a printed line starts a JSON string or a PIP slot without its space.

The gate also sees what the copy attention reads at its sources (e.g. "this token lies past the end of
the value"). *Span copy* adds the one structural prior of the variant, in each mode's own form: a printed
value is a contiguous run of document tokens.

- PIP: only the first mask of a key's run has to find the value; the ``k``-th mask after it copies the
  source ``k`` tokens further on (``span_shift``). Its gate still decides, slot by slot, whether to copy or
  to pad. A model trained on *span* answers (``config.pip_answer == "span"``, ``span_copy`` off) has two
  masks a key instead, pointing at the value's first and last token; the harness reads the span from the
  ``copy_probs`` the forward returns when asked (``benchmark.pip.read_span``).
- AR (``match_length > 0``): the copy attention gets a learned bias towards each source that continues the
  answer written so far, graded by how many of the answer's last tokens match the document just before
  that source (``match_lengths``; capped at ``match_length``). It is what an induction head learns, given
  outright, as the PIP slots are given their span: without it a small AR model loses its place inside a
  value and loops ("HEDICAL HEDICAL …"). It reads only tokens already decoded, so decoding stays one token
  a step, and it is kept on the KV cache (``copy_match``) like the copy keys.

The forward returns the log of that mixture as ``logits`` (a log-softmax of it is itself), so
``generate``, the KV cache, ``logits_to_keep`` and the harness's PIP pass (ONE forward over the masked
prompt, argmax at every mask) run unchanged: it stays inside the paradigm. The copy attention's keys of
earlier positions are kept on the KV cache object (``copy_memory``) for incremental decoding.

Loading: ``import benchmark.pointer`` registers the ``pip-kie-pointer`` model type with the ``Auto*``
classes (``pip-bench`` does so itself); no ``trust_remote_code``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM
from transformers.modeling_outputs import CausalLMOutputWithPast

MODEL_TYPE = "pip-kie-pointer"
SPACE_MARKERS = ("Ġ", "▁")  # byte-level BPE and SentencePiece spell a leading space with these
SOURCES = 3  # generate, copy, copy-twin
# Answer tokens a decoding span-copy state can take back: more than a draft model proposes before the target
# checks them (transformers' assisted decoding starts at 20 a round and grows it by 2 while all are accepted).
UNDO_TOKENS = 256


class PointerConfig(LlamaConfig):
    model_type = MODEL_TYPE

    def __init__(self, copy_dim: int = 64, span_copy: bool = True, mask_token_id: int | None = None, match_length: int = 0, **kwargs: Any):
        self.copy_dim = copy_dim
        self.span_copy = span_copy
        self.mask_token_id = mask_token_id
        self.match_length = match_length  # AR span copy: longest answer suffix matched against the prompt (0: off)
        super().__init__(**kwargs)


def vocabulary_tables(tokenizer: Any, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(twin, copyable) over ``size`` ids: each id's space-toggled twin (itself when it has none), and
    whether it may be copied: not special tokens (``[mask]``, padding) nor whitespace-only ones (a line
    break inside a multi-line value is printed, but the value's gold text has a space there)."""
    vocab = tokenizer.get_vocab()
    twin = torch.arange(size)
    for token, i in vocab.items():
        for marker in SPACE_MARKERS:
            bare = vocab.get(token[len(marker) :]) if token.startswith(marker) else None
            if bare is not None and i < size and bare < size:
                twin[i], twin[bare] = bare, i
    copyable = torch.ones(size, dtype=torch.bool)
    never = set(tokenizer.all_special_ids) | {i for i in vocab.values() if not tokenizer.decode([i]).strip()}
    copyable[[i for i in never if i < size]] = False
    return twin, copyable


def mask_run_offsets(ids: torch.Tensor, mask_id: int) -> torch.Tensor:
    """For each position, how many ``[mask]`` tokens end there (0 where the token is not a mask).

    The query at position ``q`` fills the mask at ``q + 1``; with ``k = offsets[q] > 0`` that mask is the
    ``k``-th of its run after the first, and the run's first mask is filled from position ``q - k``.
    """
    is_mask = ids == mask_id
    count = is_mask.long().cumsum(-1)
    return count - torch.where(is_mask, 0, count).cummax(-1).values


class MatchState:
    """AR span copy's running state for a batch whose prompts end at ``prompt_width``: for each prompt
    source, how many of the answer's last tokens match the copyable prompt tokens ending there.

    Only the prompt is matched (a source in the answer would match the answer itself), non-copyable answer
    tokens (whitespace) are skipped as the prompt's line breaks are, and a token matches its space-toggled
    twin too (a value copied from mid-line starts without its space).
    """

    def __init__(
        self, ids: torch.Tensor, prompt_width: torch.Tensor, twin: torch.Tensor, copyable: torch.Tensor, cap: int, undoable: bool = False
    ):
        batch, width = ids.shape
        positions = torch.arange(width, device=ids.device)
        self.ids, self.twin, self.copyable, self.cap = ids, twin, copyable, cap
        self.content = copyable[ids] & (positions[None, :] < prompt_width[:, None])
        last = torch.where(self.content, positions, -1).cummax(-1).values
        # the copyable prompt source before each one; ``width`` (a column that stays 0) where there is none
        before = torch.cat([torch.full((batch, 1), -1, device=ids.device), last[:, :-1]], dim=1)
        self.before = torch.where(before < 0, width, before)
        self.ending = torch.zeros((batch, width + 1), dtype=torch.long, device=ids.device)  # matches ending at each source
        self.position = int(prompt_width.min())  # the sequence position of the next token read
        # ``undoable`` (decoding): ``ending`` before each token of the last forward call, so that a cropped KV
        # cache can be followed (``read``); a training pass never crops and keeps none
        self.undo: list[torch.Tensor] | None = [] if undoable else None

    def advance(self, token: torch.Tensor, active: torch.Tensor | None = None) -> torch.Tensor:
        """Read one answer token per row (``active`` rows only); returns (batch, width) match lengths just
        before each source, i.e. how well each source would continue the answer."""
        same = (self.ids == token[:, None]) | (self.twin[self.ids] == token[:, None])
        grown = torch.where(same & self.content, (torch.gather(self.ending, 1, self.before) + 1).clamp(max=self.cap), 0)
        active = torch.ones_like(token, dtype=torch.bool) if active is None else active
        read = active & self.copyable[token]
        if self.undo is not None:
            self.undo.append(self.ending)
        self.ending = F.pad(torch.where(read[:, None], grown, self.ending[:, :-1]), (0, 1))  # the last column stays 0
        self.position += 1
        return torch.gather(self.ending, 1, self.before) * (self.content & active[:, None])

    def read(self, tokens: torch.Tensor, past: int) -> list[torch.Tensor]:
        """``advance`` over the (batch, n) tokens of one forward call, which start at sequence position ``past``.

        A ``past`` behind the tokens already read means the KV cache was cropped: assisted decoding drops the
        proposals the model rejected, and the state forgets them too. Prompt lookup reads its proposals in one
        call; a draft model (``ar-draft``) proposes them one call each, so a crop may reach back over several
        calls: the state keeps the last ``UNDO_TOKENS`` steps.
        """
        if past < self.position:
            back = self.position - past
            if self.undo is None or back > len(self.undo):
                raise ValueError("the KV cache was cropped further back than the span-copy state can follow")
            self.ending, self.position = self.undo[-back], past
            del self.undo[-back:]
        steps = [self.advance(tokens[:, j]) for j in range(tokens.shape[1])]
        if self.undo is not None:
            del self.undo[:-UNDO_TOKENS]
        return steps

    def read_sequence(self, ids: torch.Tensor, answer_start: torch.Tensor, first: int = 0) -> torch.Tensor:
        """(batch, queries, sources) match lengths of the positions ``first``… of the whole sequence ``ids``
        (the one the state was built on) whose answer starts at ``answer_start`` (per row): what decoding it
        token by token gives."""
        batch, width = ids.shape
        lengths = torch.zeros((batch, width - first, width), dtype=torch.long, device=ids.device)
        for t in range(self.position, width):
            step = self.advance(ids[:, t], active=answer_start <= t)
            if t >= first:
                lengths[:, t - first] = step
        return lengths

    @classmethod
    def full_pass(
        cls, ids: torch.Tensor, answer_start: torch.Tensor, twin: torch.Tensor, copyable: torch.Tensor, cap: int, first: int = 0
    ) -> torch.Tensor:
        """``read_sequence`` on a new state: the match lengths of a whole sequence scored in one pass (training)."""
        return cls(ids, answer_start, twin, copyable, cap).read_sequence(ids, answer_start, first)


@dataclass
class PointerOutput(CausalLMOutputWithPast):
    """``CausalLMOutputWithPast`` plus ``copy_probs`` (batch, kept positions, sources), when asked for."""

    copy_probs: torch.Tensor | None = None


class PointerForCausalLM(LlamaForCausalLM):
    # transformers leaves PreTrainedModel.config_class unannotated (inferred as None), though it holds a config class
    config_class = PointerConfig  # type: ignore[assignment]
    # Its decode step keeps Python state on the KV cache (copy memory grown by concatenation, the span-copy
    # state), so torch.compile breaks the graph and sees new shapes at every step: on a 2-core CPU the compiled
    # static-cache decode ran several times slower than eager. pip-bench compiles only models that declare this.
    _can_compile_fullgraph = False
    twin: torch.Tensor  # buffer: each token id's space-toggled twin
    copyable: torch.Tensor  # buffer: which token ids may be copied

    def __init__(self, config: PointerConfig):
        super().__init__(config)
        hidden = config.hidden_size
        self.copy_query = nn.Linear(hidden, config.copy_dim, bias=False)
        self.copy_key = nn.Linear(hidden, config.copy_dim, bias=False)
        # What the copy attention reads at its sources informs the gate, e.g. "this source lies past the
        # end of the value": pad instead of copying it.
        self.copy_value = nn.Linear(hidden, hidden, bias=False)
        self.copy_gate = nn.Linear(hidden, SOURCES)
        # Saved with the weights: the tables belong to the tokenizer the model was trained with.
        self.register_buffer("twin", torch.arange(config.vocab_size))
        self.register_buffer("copyable", torch.ones(config.vocab_size, dtype=torch.bool))
        if config.match_length:
            # bias for a continuation matched over 1..match_length tokens; starts as a clear preference
            self.match_bias = nn.Parameter(torch.linspace(2.0, 6.0, config.match_length))
        self.post_init()

    def set_vocabulary(self, tokenizer: Any, mask_token: str = "[mask]") -> None:
        twin, copyable = vocabulary_tables(tokenizer, self.config.vocab_size)
        self.twin.copy_(twin)
        self.copyable.copy_(copyable)
        self.config.mask_token_id = tokenizer.get_vocab().get(mask_token)

    def resize_token_embeddings(self, new_num_tokens: int | None = None, *args: Any, **kwargs: Any) -> Any:
        """New tokens (e.g. an added ``[mask]``) are their own twin and never copied."""
        embeddings = super().resize_token_embeddings(new_num_tokens, *args, **kwargs)
        old, new = self.twin.numel(), self.config.vocab_size
        if new > old:
            self.twin = torch.cat([self.twin, torch.arange(old, new, device=self.twin.device)])
            self.copyable = torch.cat([self.copyable, self.copyable.new_zeros(new - old)])
        return embeddings

    # -- the copy head ---------------------------------------------------------------------------
    def sources(self, attention_mask: torch.Tensor | None, queries: torch.Tensor, ids: torch.Tensor, past: int) -> torch.Tensor:
        """(batch, queries, sources) bool: which source each query position may copy from.

        Exactly what the query may attend to (the float 4D mask of a PIP pass, else causal + padding),
        minus tokens that are never copied.
        """
        width = ids.shape[1]
        if attention_mask is not None and attention_mask.dim() == 4:
            rows = attention_mask[:, 0, queries - past, :width]
            allowed = rows if rows.dtype == torch.bool else rows == 0
        else:
            allowed = (torch.arange(width, device=ids.device)[None, :] <= queries[:, None])[None]
            if attention_mask is not None:
                allowed = allowed & attention_mask.bool()[:, None, :width]
        return allowed & self.copyable[ids][:, None, :]

    def copy_weights(
        self,
        hidden: torch.Tensor,
        keys: torch.Tensor,
        ids: torch.Tensor,
        attention_mask: Any,
        queries: torch.Tensor,
        past: int,
        matched: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(batch, queries, sources) copy weights of the queries at positions ``queries`` (``hidden`` holds
        those queries only); a query with nothing to copy gets all zeros. ``matched``: AR span copy's
        (batch, queries, sources) match lengths (``MatchState``)."""
        allowed = self.sources(attention_mask, queries, ids, past)
        scores = self.copy_query(hidden) @ keys.transpose(1, 2) / math.sqrt(self.config.copy_dim)
        if matched is not None:
            scores = scores + F.embedding(matched, F.pad(self.match_bias, (1, 0))[:, None]).squeeze(-1)
        weights = torch.softmax(scores.float().masked_fill(~allowed, float("-inf")), dim=-1).nan_to_num(0.0)
        if self.config.span_copy and self.config.mask_token_id is not None:
            weights = self.span_shift(weights, queries, ids, allowed)
        return weights

    def span_shift(self, weights: torch.Tensor, queries: torch.Tensor, ids: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """PIP span copy: the ``k``-th mask after the first of a run copies the source ``k`` copyable tokens
        after the one its run's first mask points at.

        A printed value is a contiguous run of document tokens, so only a run's first slot has to find it
        (line breaks inside a multi-line value are skipped: they are not copyable). ``queries`` must include
        every run's first query; the harness keeps the logits before every mask, training keeps them all.
        """
        offsets = mask_run_offsets(ids, self.config.mask_token_id)[:, queries]  # (batch, queries)
        shifted_rows = offsets > 0
        if not bool(shifted_rows.any()):
            return weights
        batch, width = ids.shape
        row_of = torch.full((width,), -1, dtype=torch.long, device=ids.device)
        row_of[queries] = torch.arange(len(queries), device=ids.device)
        starts = row_of[(queries[None, :] - offsets).clamp(min=0)]  # (batch, queries): the run's first query
        if bool((starts[shifted_rows] < 0).any()):
            raise ValueError("span copy needs the logits before every run's first mask (keep them in logits_to_keep)")
        content = self.copyable[ids]
        rank = content.long().cumsum(-1) - 1  # each copyable source's rank in its row
        position_of = torch.zeros((batch, width + 1), dtype=torch.long, device=ids.device)  # rank -> position
        position_of.scatter_(1, torch.where(content, rank, width), torch.arange(width, device=ids.device).expand(batch, -1))
        back = rank[:, None, :] - offsets[:, :, None]  # (batch, queries, sources): the rank k copyable tokens earlier
        valid = content[:, None, :] & (back >= 0) & allowed
        source = torch.gather(position_of[:, None, :width].expand(-1, len(queries), -1), 2, back.clamp(min=0))
        start_weights = torch.gather(weights, 1, starts.clamp(min=0)[:, :, None].expand(-1, -1, width))
        shifted = torch.gather(start_weights, 2, source) * valid
        return torch.where(shifted_rows[:, :, None], shifted, weights)

    def gate(self, hidden: torch.Tensor, read: torch.Tensor) -> torch.Tensor:
        """(..., 3) probabilities of generating, copying and copying the twin, from the queries' hidden states
        and what their copy attention reads."""
        return torch.softmax(self.copy_gate(hidden + read).float(), dim=-1)

    @staticmethod
    def copy_probs(weights: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        """(..., sources) probability of copying from each source: the copy weights times both copy gates
        (as printed or as its twin, the same source). What a span answer is read from and trained on."""
        return weights * (gate[..., 1] + gate[..., 2])[..., None]

    def mix(self, hidden: torch.Tensor, read: torch.Tensor, weights: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities (n, vocab) from n queries' hidden states (n, d), what their copy attention
        reads (n, d), their copy weights (n, sources) and the sources' token ids (n, sources); and the
        gate (n, 3) that mixed them."""
        gate = self.gate(hidden, read)
        probs = gate[:, :1] * torch.softmax(self.lm_head(hidden).float(), dim=-1)
        # in place: a PIP pass has ~185 queries x 8,192 tokens here, and the product above is saved by no backward
        probs.scatter_add_(1, ids, gate[:, 1:2] * weights)
        probs.scatter_add_(1, self.twin[ids], gate[:, 2:3] * weights)
        return probs.clamp_min(1e-20).log(), gate

    def matched(self, input_ids: torch.Tensor, answer_start: torch.Tensor | None, first: int = 0) -> torch.Tensor | None:
        """AR span copy's match lengths for the positions ``first``… of a whole sequence whose answer starts
        at ``answer_start`` (None: no answer in it, e.g. a PIP pass or a prompt)."""
        if not self.config.match_length or answer_start is None:
            return None
        return MatchState.full_pass(input_ids, answer_start, self.twin, self.copyable, self.config.match_length, first)

    def logits_at(
        self,
        hidden: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        rows: torch.Tensor,
        cols: torch.Tensor,
        answer_start: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Training: log-probabilities at the positions ``(rows, cols)`` of a full-sequence pass (an AR
        example's answer starting at ``answer_start``: only the positions from the earliest answer on need
        the copy attention, a fraction of an AR sequence), and their copy probabilities (n, sources): how
        likely each position is to copy from each source, which a span answer is trained on."""
        first = max(int(answer_start.min()) - 1, 0) if answer_start is not None else 0
        queries = torch.arange(first, hidden.shape[1], device=hidden.device)
        matched = self.matched(input_ids, answer_start, first)
        weights = self.copy_weights(hidden[:, first:], self.copy_key(hidden), input_ids, attention_mask, queries, 0, matched)
        read = weights.to(hidden.dtype) @ self.copy_value(hidden)
        kept = weights[rows, cols - first]
        log_probs, gate = self.mix(hidden[rows, cols], read[rows, cols - first], kept, input_ids[rows])
        return log_probs, self.copy_probs(kept, gate)

    def _memory(self, cache: Any, past: int, hidden: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Copy keys, values and ids of every position so far: the earlier ones live on the KV cache object."""
        memory = (self.copy_key(hidden), self.copy_value(hidden), ids)
        if past and cache is not None:
            old = getattr(cache, "copy_memory", None)
            if old is None or old[2].shape[1] < past:
                raise ValueError("the KV cache carries no copy memory for its earlier positions (built by another model?)")
            # longer than the cache: it was cropped (assisted decoding drops rejected proposals), and so is the memory
            all_keys, all_values, all_ids = (torch.cat([a[:, :past], b], dim=1) for a, b in zip(old, memory, strict=True))
            memory = (all_keys, all_values, all_ids)
        if cache is not None:
            cache.copy_memory = memory
        return memory

    def _decoding_match(self, cache: Any, past: int, input_ids: torch.Tensor, answer_start: torch.Tensor | None) -> torch.Tensor | None:
        """(batch, new positions, sources) AR span-copy match lengths of a forward call. A first call starts
        the state kept on the cache and reads its tokens from ``answer_start`` on as answer: without it, it is
        a prompt and matches nothing yet (assisted decoding sends the prompt and its first proposals in one
        call, so it says where the prompt ends). Each later call reads its tokens as answer."""
        if not self.config.match_length:
            return None
        if not past:
            width = torch.full((input_ids.shape[0],), input_ids.shape[1], device=input_ids.device)
            start = width if answer_start is None else answer_start
            state = MatchState(input_ids, start, self.twin, self.copyable, self.config.match_length, undoable=True)
            if cache is not None:
                cache.copy_match = state
            return None if answer_start is None else state.read_sequence(input_ids, answer_start)
        saved: MatchState | None = getattr(cache, "copy_match", None)
        if saved is None:
            raise ValueError("the KV cache carries no span-copy state for its prompt (built by another model?)")
        steps = saved.read(input_ids, past)
        total = past + input_ids.shape[1]
        return torch.stack([F.pad(lengths, (0, total - lengths.shape[1])) for lengths in steps], dim=1)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Any = None,
        inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        cache_position: torch.LongTensor | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        answer_start: torch.LongTensor | None = None,
        output_copy_probs: bool = False,
        **kwargs: Any,
    ) -> PointerOutput:
        """As Llama's, plus ``answer_start`` (per row) for a whole AR sequence scored in one pass, or a
        first decoding call that holds answer tokens after its prompt (prompt lookup): AR span copy then
        matches from there, as generating the answer does; and ``output_copy_probs``: return
        each kept position's probability of copying from each source *instead of* the logits (``logits`` is
        None): a span answer reads only these, and skipping the vocabulary saves ~8% of a span pass."""
        if input_ids is None:
            raise ValueError("the copy head needs input_ids (it copies token ids); inputs_embeds alone are not supported")
        if cache_position is not None:  # a static cache counts the slots it holds non-zero keys in, which misses left padding
            past = int(cache_position[0])
        else:
            past = past_key_values.get_seq_length() if past_key_values is not None else 0
        out = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past_key_values,
            use_cache=use_cache,
            cache_position=cache_position,
            **kwargs,
        )
        hidden = out.last_hidden_state
        keys, values, ids = self._memory(out.past_key_values, past, hidden, input_ids)
        keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        queries = torch.arange(past, past + hidden.shape[1], device=hidden.device)[keep]
        kept = hidden[:, keep]
        matched = self._decoding_match(out.past_key_values, past, input_ids, answer_start)
        weights = self.copy_weights(kept, keys, ids, attention_mask, queries, past, None if matched is None else matched[:, keep])
        read = weights.to(values.dtype) @ values
        if output_copy_probs:
            if labels is not None:
                raise ValueError("output_copy_probs returns no logits to compute a loss on; pass labels without it")
            copy_probs = self.copy_probs(weights, self.gate(kept, read))
            return PointerOutput(past_key_values=out.past_key_values, hidden_states=out.hidden_states, copy_probs=copy_probs)
        batch, n, width = weights.shape
        source_ids = ids[:, None, :].expand(batch, n, width).reshape(batch * n, width)
        logits, _ = self.mix(kept.flatten(0, 1), read.flatten(0, 1), weights.flatten(0, 1), source_ids)
        logits = logits.view(batch, n, -1)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=-100)
        # transformers types an output's loss and logits as torch.FloatTensor, a legacy tensor type no torch op returns
        return PointerOutput(loss=loss, logits=logits, past_key_values=out.past_key_values, hidden_states=out.hidden_states)  # type: ignore[arg-type]


AutoConfig.register(MODEL_TYPE, PointerConfig)
AutoModelForCausalLM.register(PointerConfig, PointerForCausalLM)

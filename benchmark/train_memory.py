"""``pip-bench train --dry-run``: what a training run will hold in memory, counted before any weight is read.

Whether a fine-tune fits a GPU is the first question before a run on a large model, and answering it by
starting the run costs a model download and an out-of-memory crash. The model is built on the meta device
from its config (``benchmark.train.load_start(weights=False)``), with the same tokens added and the same
LoRA adapters as the run would have, so the counts are the run's own, not a formula per family.

What is counted exactly: weights and buffers at their dtype, a gradient for each trained parameter, and
AdamW's two moments (``exp_avg`` and ``exp_avg_sq``, kept at the parameter's dtype by torch). What is not:
activations, which grow with the batch, the sequence length and the family's attention kernel;
``--gradient-checkpointing`` keeps only each layer's input of them and recomputes the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmark.train import TrainConfig, adapted, load_start

GIB = 1024**3


@dataclass(frozen=True)
class MemoryPlan:
    parameters: int
    trained_parameters: int
    weight_bytes: int  # weights and buffers
    gradient_bytes: int
    optimizer_bytes: int  # AdamW's two moments

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.gradient_bytes + self.optimizer_bytes


def memory_plan(config: TrainConfig) -> MemoryPlan:
    """The memory a run of ``config`` holds apart from activations, from a meta-device twin of its model."""
    model = adapted(*load_start(config, weights=False), config)
    trained = [p for p in model.parameters() if p.requires_grad]
    gradients = sum(_nbytes(p) for p in trained)
    return MemoryPlan(
        parameters=sum(p.numel() for p in model.parameters()),
        trained_parameters=sum(p.numel() for p in trained),
        weight_bytes=sum(_nbytes(t) for t in (*model.parameters(), *model.buffers())),
        gradient_bytes=gradients,
        optimizer_bytes=2 * gradients,
    )


def describe(plan: MemoryPlan, config: TrainConfig, gradient_checkpointing: bool) -> str:
    """The plan as the lines ``--dry-run`` prints."""
    share = plan.trained_parameters / plan.parameters
    trained = f"LoRA rank {config.lora} and new token rows" if config.lora else "every weight"
    activations = (
        "each layer's input only (--gradient-checkpointing)"
        if gradient_checkpointing
        else "every layer's (add --gradient-checkpointing to keep each layer's input only)"
    )
    return "\n".join(
        [
            f"memory plan (dry run: no weight read, nothing trained; {config.init or 'a new model'}, {config.dtype})",
            f"  parameters          {plan.parameters:>15,}",
            f"  trained             {plan.trained_parameters:>15,}  ({share:.2%}: {trained})",
            f"  weights and buffers {_gib(plan.weight_bytes)}",
            f"  gradients           {_gib(plan.gradient_bytes)}",
            f"  AdamW moments       {_gib(plan.optimizer_bytes)}",
            f"  total               {_gib(plan.total_bytes)}  + activations",
            f"  activations: not counted; they grow with --batch-size {config.batch_size} x the example length "
            f"(up to --max-len {config.max_len}) and keep {activations}",
        ]
    )


def _nbytes(tensor: Any) -> int:
    return int(tensor.numel() * tensor.element_size())


def _gib(n: int) -> str:
    return f"{n / GIB:>11.3f} GiB"

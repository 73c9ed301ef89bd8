"""Data parallelism for ``pip-bench``: one process per device, started by ``torchrun`` or ``accelerate launch``.

Why accelerate's ``PartialState`` and no code of our own: it reads what the launchers set (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``), starts the process group on the right backend (NCCL on GPUs, gloo on
CPUs), gives each process its device and a barrier. The harness only decides which process does which
documents. Started plainly (``pip-bench evaluate``) a run is one process and imports none of it.

    torchrun --nproc_per_node 2 -m benchmark.cli evaluate MODEL --dataset DATA            # CPU, 2 processes
    accelerate launch --multi_gpu --num_processes 8 -m benchmark.cli evaluate MODEL --dataset DATA --device cuda
    accelerate launch --multi_gpu --num_processes 8 -m benchmark.cli train --mode pip --dataset DATA --device cuda ...

Evaluation shares the documents; training shares the rows of every batch and wraps the loss in DDP, which
averages the gradients (``Processes.wrap``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch

from benchmark.errors import BenchError

T = TypeVar("T")

# How long a process waits at a barrier for the others. Why so long: a process that finished its share
# waits there for the slowest one, and an AR share of a large set can run for hours on a CPU. torch's
# default (30 minutes) would end a healthy run.
WAIT = timedelta(hours=24)


@dataclass(frozen=True)
class Processes:
    """This process's place in the run: ``index`` of ``count``; the first one writes the results."""

    index: int = 0
    count: int = 1
    device: str | None = None  # the launcher's device for this process (cuda:LOCAL_RANK); None: the one asked for
    state: Any = None  # accelerate's PartialState, when launched

    @property
    def main(self) -> bool:
        return self.index == 0

    def share(self, items: Sequence[T]) -> list[T]:
        """This process's items: every ``count``-th from its ``index``, so shares differ by one at most."""
        return list(items[self.index :: self.count])

    def wait(self) -> None:
        """Return when every process has come here (at once in a one-process run)."""
        if self.state is not None:
            self.state.wait_for_everyone()

    def total(self, value: float) -> float:
        """The sum of ``value`` over the processes."""
        if self.state is None:
            return value
        from accelerate.utils import reduce

        return float(reduce(torch.tensor([value], dtype=torch.float64, device=self.state.device), reduction="sum").item())

    def first(self, value: float) -> float:
        """The first process's ``value``, in every process: what decisions all of them must take alike read (a
        time budget's clock), so that no process stops a step before the others and leaves them waiting."""
        if self.state is None:
            return value
        from accelerate.utils import broadcast

        return float(broadcast(torch.tensor([value], dtype=torch.float64, device=self.state.device), from_process=0).item())

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """``module`` wrapped for data-parallel training (DDP, through accelerate), which averages the gradients
        of the processes' backward passes; itself in a one-process run. Call it once the weights are final for
        the start (a resumed checkpoint loaded): the wrapper starts every process from the first one's weights."""
        if self.state is None:
            return module
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs

        # unused parameters allowed: a LoRA run or a step of only AR batches leaves some weights out of the loss
        ddp = DistributedDataParallelKwargs(find_unused_parameters=True)
        return Accelerator(cpu=self.state.device.type == "cpu", kwargs_handlers=[ddp]).prepare_model(module)


ONE = Processes()  # a run started plainly: one process, which does everything


def launched_count() -> int:
    """How many processes the launcher started (``WORLD_SIZE``, which torchrun and accelerate launch set)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        raise BenchError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not a number of processes") from None


def processes(device: str) -> Processes:
    """Join the launcher's process group, if there is one. On CUDA each process takes its own GPU
    (``--device cuda`` becomes ``cuda:LOCAL_RANK``); a GPU named by number cannot serve several processes."""
    count = launched_count()
    if count == 1:
        return ONE
    if device.startswith("cuda:"):
        raise BenchError(f"--device {device}: with {count} processes pass --device cuda, and each process takes its own GPU")
    from accelerate import PartialState

    state = PartialState(cpu=not device.startswith("cuda"), timeout=WAIT)
    return Processes(state.process_index, state.num_processes, str(state.device) if device == "cuda" else None, state)

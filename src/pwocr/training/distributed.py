"""One process or many: the process group of a torchrun run, and ``--nproc`` launching one on this machine.

Under ``torchrun`` (or ``--nproc N``, which starts torchrun's agent in-process) every rank runs the
same entry (the trainer's, handed to ``launch``: this module imports nothing of training); this
module tells each its rank, reduces what the ranks measured, and keeps writes on rank 0. A run of one process never touches ``torch.distributed``.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from pwocr.errors import PwocrError


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in the run: its rank among ``world`` and on its machine."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes logs and checkpoints and talks to the user."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def under_torchrun() -> bool:
    """True in a process that torchrun (or ``--nproc``) started as one rank of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_main_process() -> bool:
    """True outside torchrun and in its rank 0: the process that writes a run's shared files."""
    return int(os.environ.get("RANK", "0")) == 0


def init_ranks(use_cuda: bool) -> Ranks:
    """Join torchrun's process group (gloo on CPU, NCCL on GPUs) when started by it; one process otherwise."""
    if not under_torchrun():
        return Ranks()
    import torch.distributed as dist

    ranks = Ranks(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", "0")))
    if "OMP_NUM_THREADS" not in os.environ:
        # Ranks on one machine share its cores: one intra-op pool each of the machine's size would thrash.
        local = int(os.environ.get("LOCAL_WORLD_SIZE", str(ranks.world)))
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // local))
    cuda = use_cuda and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(ranks.local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return ranks


def close(ranks: Ranks) -> None:
    if ranks.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def sum_over_ranks(ranks: Ranks, values: list[float], device: torch.device) -> list[float]:
    """Each value summed over all ranks (unchanged in a single process)."""
    if not ranks.distributed:
        return values
    import torch.distributed as dist

    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def rank0_value(ranks: Ranks, value: int, device: torch.device) -> int:
    """Rank 0's ``value`` on every rank (a seed drawn from each machine's clock would differ)."""
    if not ranks.distributed:
        return value
    import torch.distributed as dist

    tensor = torch.tensor([value], dtype=torch.int64, device=device)
    dist.broadcast(tensor, src=0)
    return int(tensor.item())


def gather_lists(ranks: Ranks, items: list[Any]) -> list[Any]:
    """Every rank's ``items`` concatenated in rank order, on every rank."""
    if not ranks.distributed:
        return items
    import torch.distributed as dist

    gathered: list[list[Any] | None] = [None] * ranks.world
    dist.all_gather_object(gathered, items)
    return [x for part in gathered for x in (part or [])]


def launch(config_dict: dict[str, Any], nproc: int, progress: bool, entry: Callable[..., Any]) -> Any:
    """Run ``entry(config_dict, progress)`` in ``nproc`` processes on this machine, as ``torchrun --standalone`` does.

    Returns what rank 0 returned. A failed rank has printed its own message; this raises one line.
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    launch_config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=f"pwocr-{os.getpid()}",
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
        monitor_interval=0.1,
        start_method="spawn",
    )
    # torch's agent installs its own handlers for these and leaves them behind; a library call must not.
    handled = [s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT) if s is not None]
    previous = {s: signal.getsignal(s) for s in handled}
    try:
        results = elastic_launch(launch_config, entry)(config_dict, progress)
    except ChildFailedError as e:
        codes = sorted({f.exitcode for f in e.failures.values()})
        if 130 in codes:
            raise KeyboardInterrupt from None
        raise PwocrError(
            f"--nproc {nproc}: a training process failed (exit code {', '.join(map(str, codes))}); its message is above"
        ) from None
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return results[0]

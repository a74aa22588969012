"""The training loop of Trainer: resume, steps, log points (losses to the host, checked, appended
to losses.csv; weights checked), checkpoints, and at the end generator.pt and train_summary.json.
TrainLoop is a part of Trainer (sgenlib.train.trainer): it calls the step (`train_step`), the
checkpoint methods and `speed_info` that Trainer holds."""
from __future__ import annotations

import csv
import errno
import io
import json
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from ..archs import forward_padded
from ..fileio import DiskFullError, atomic_write, file_sha256
from ..locks import folder_lock
from ..speed import cudnn_benchmark
from ..timing import sync
from .checkpoints import atomic_torch_save
from .config import LOSS_COLUMNS, PROGRESS_LINE_S, NonFiniteLossError, NonFiniteWeightsError
from .ddp import device_name
from .identity import claim_run_folder


@dataclass
class _Window:
    """The loop's logging state: the steps since the last log point (their losses still on the
    device, in `pending`), when that window began, each window's images/s, the progress bar."""
    bar: tqdm
    start: float
    pending: list = field(default_factory=list)
    steps: int = 0
    throughput: list = field(default_factory=list)
    last_line: float = -float("inf")        # when the last progress line went to stderr


class TrainLoop:
    """`run()`: train to cfg.steps in the run folder, resuming from its checkpoint."""

    def run(self, stop_after: int | None = None) -> dict:
        """Train to cfg.steps, resuming from checkpoint.pt if present. `stop_after` ends the call
        after that many steps without a final checkpoint (how the tests interrupt a run).
        Rank 0 holds the run folder's lock throughout (a second writer stops at once, naming it).
        cuDNN's algorithm search (self.cudnn_benchmark, on for CUDA) is on for this call only."""
        with cudnn_benchmark(self.cudnn_benchmark):
            return self._run(stop_after)

    def _run(self, stop_after: int | None) -> dict:
        if self.rank != 0:
            self._claim_result(None)
            return self._train_loop(stop_after)
        with folder_lock(self.out_dir, f"run folder {self.out_dir}"):
            error = None
            try:
                claim_run_folder(self.out_dir, self.identity, self.cfg.steps, self.data_info)
            except Exception as e:  # noqa: BLE001 - re-raised below, after telling the other ranks
                error = e
            self._claim_result(error)
            return self._train_loop(stop_after)

    def _claim_result(self, error: Exception | None) -> None:
        """Under DDP every rank learns whether rank 0 claimed the folder, so all stop together."""
        ok = torch.tensor([0 if error is not None else 1], device=self.device)
        if self.world > 1:
            dist.all_reduce(ok, op=dist.ReduceOp.MIN)
        if error is not None:
            raise error
        if not int(ok):
            raise RuntimeError(f"rank 0 could not take the run folder {self.out_dir} (see its error)")

    def _train_loop(self, stop_after: int | None = None) -> dict:
        """Resume from the checkpoint, then train to cfg.steps: the run's summary, or
        {"interrupted_at": step} after `stop_after` steps of this call."""
        resumed = self.load_checkpoint()
        start = self.step
        self._truncate_losses()
        window, done_here = self._begin_loop(), 0
        while self.step < self.cfg.steps:
            scale, values = self.train_step(self.step + 1)
            self.step += 1
            done_here += 1
            window.steps += 1
            window.pending.append((self.step, scale, values))
            window.bar.update(1)
            log_now = (self.step % self.cfg.log_every == 0 or self.step % self.cfg.ckpt_every == 0
                       or self.step == self.cfg.steps)
            if log_now:
                self._log_point(window)
            if self.step % self.cfg.ckpt_every == 0 or self.step == self.cfg.steps:
                self.save_checkpoint()
            if log_now:
                window.start = time.perf_counter()           # logging and checkpoint I/O not timed
            if stop_after is not None and done_here >= stop_after and self.step < self.cfg.steps:
                window.bar.close()
                self._barrier()
                return {"interrupted_at": self.step}
        window.bar.close()
        summary = self._summary(start if resumed else None, window.throughput)
        self._finish(summary)
        return summary

    def _begin_loop(self) -> _Window:
        """The progress bar and first stderr line, G and D in training mode, the first window."""
        bar = tqdm(total=self.cfg.steps, initial=self.step, desc=self.cfg.model, leave=False,
                   disable=not self.progress or self.rank != 0)
        if self.progress and self.rank == 0 and self.step < self.cfg.steps:
            print(f"[train {self.cfg.model}] step {self.step}/{self.cfg.steps}: training at batch "
                  f"{self.cfg.batch_size} on {self.device}", file=sys.stderr, flush=True)
        self.G.train()
        if self.D is not None:
            self.D.train()
        sync(self.device)
        return _Window(bar, time.perf_counter())

    def _log_point(self, window: _Window) -> None:
        """End a logging window: its wall time, its losses flushed (_flush), the progress bar and,
        at most every PROGRESS_LINE_S seconds (and at the last step), a progress line."""
        sync(self.device)                                    # the only host-device sync of the loop
        dt = time.perf_counter() - window.start
        self.elapsed += dt
        window.throughput.append(window.steps * self.cfg.batch_size / dt)
        self._flush(window.pending, dt / window.steps)
        window.steps = 0
        window.bar.set_postfix(loss=f"{self.last_losses[0]:.4f}", img_s=f"{window.throughput[-1]:.0f}")
        if self.progress and self.rank == 0 and (time.perf_counter() - window.last_line >= PROGRESS_LINE_S
                                                 or self.step == self.cfg.steps):
            # a plain line on stderr: run_all.sh forwards the notebooks' stderr to its terminal
            print(f"[train {self.cfg.model}] step {self.step}/{self.cfg.steps} "
                  f"loss {self.last_losses[0]:.4f} {window.throughput[-1]:.0f} img/s",
                  file=sys.stderr, flush=True)
            window.last_line = time.perf_counter()

    def _summary(self, resumed_from_step: int | None, throughput: list) -> dict:
        """What train_summary.json records of the finished run (rank 0 adds generator_sha256)."""
        return {
            "model": self.cfg.model, "steps": self.step, "resumed_from_step": resumed_from_step,
            "batch_size": self.cfg.batch_size, "world_size": self.world,
            "train_seconds": round(self.elapsed, 3),
            "images_per_s_steady": float(np.median(throughput[1:] or throughput)) if throughput else None,
            "device": device_name(self.device), **self.speed_info(),
            "ddp_backend": dist.get_backend() if self.world > 1 else None,
            "content_loss": self.content_name,
            "adversarial": self.spec.adversarial,
            "adv_weight": self.adv_weight, "lambda_on": self.lambda_on, "optimizer": self.optim,
            "step_order": (("d_then_g (URDGN gating)" if self.spec.gate_margin is not None else self.cfg.step_order)
                           if self.D is not None else None),
            "recipe": self.cfg.baseline_recipe, "init": self.init, "warm_start": self.warm_start,
            "gating_this_process": dict(self.gate_counts) if self.spec.gate_margin is not None else None,
            "params": sum(p.numel() for p in self.G.parameters()),
            "config": self.cfg.to_dict(), "degrade": self.degrade.as_dict(), "torch": torch.__version__,
            "identity": self.identity["id"], "train_data": self.identity["data"],
        }

    def _finish(self, summary: dict) -> None:
        """Rank 0 writes generator.pt, then train_summary.json with the generator's sha256; every
        rank returns once the files exist."""
        if self.rank == 0:
            gen_state = {k: v.detach().cpu().contiguous() for k, v in self.G.state_dict().items()}
            atomic_torch_save({"generator": gen_state,
                               "config": {**self.cfg.to_dict(), "in_channels": self.degrade.channels}},
                              self.out_dir / "generator.pt")
            summary["generator_sha256"] = file_sha256(self.out_dir / "generator.pt")
            atomic_write(self.out_dir / "train_summary.json", json.dumps(summary, indent=2))
        self._barrier()

    # ---- log points: losses.csv, loss and weight checks --------------------------------------
    def _truncate_losses(self) -> None:
        """losses.csv as the resumed step left it: the header and the rows up to self.step (rank 0)."""
        path = self.out_dir / "losses.csv"
        if self.rank != 0:
            return
        if not path.is_file():
            atomic_write(path, ",".join(LOSS_COLUMNS) + "\n")
            return
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f)][1:]
        keep = [r for r in rows if len(r) == len(LOSS_COLUMNS) and r[0].isdigit() and int(r[0]) <= self.step]
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(LOSS_COLUMNS)
        w.writerows(keep)
        atomic_write(path, buf.getvalue())

    def _flush(self, pending: list, seconds_per_step: float) -> None:
        """Bring the window's losses to the host (averaged over ranks: the global batch's losses),
        stop on a non-finite one (every rank sees the same values, so all stop together), and
        append them to losses.csv (rank 0)."""
        if not pending:
            return
        values = torch.stack([p[2] for p in pending])
        if self.world > 1:
            dist.all_reduce(values)
            values = values / self.world
        values = values.cpu()
        bad = ~torch.isfinite(values).all(dim=1)
        if bad.any():
            step = pending[int(bad.nonzero()[0])][0]
            raise NonFiniteLossError(f"{self.cfg.model}: non-finite loss at step {step} "
                                     f"(loss_g, content, adversarial, loss_d = {values[bad][0].tolist()}); "
                                     f"{self._last_checkpoint()}")
        self._check_weights(pending[-1][0])
        if self.rank == 0:
            path = self.out_dir / "losses.csv"
            try:
                with open(path, "a", newline="") as f:
                    w = csv.writer(f)
                    for (step, scale, _), v in zip(pending, values.tolist()):
                        w.writerow([step, f"{scale[0]}x{scale[1]}", *(f"{x:.6g}" for x in v), f"{seconds_per_step:.4f}"])
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    raise DiskFullError(path) from e
                raise
        self.last_losses = values[-1].tolist()
        pending.clear()

    def _check_weights(self, step: int) -> None:
        """Stop when a weight of G or D is NaN/inf (one device sync, at log points only), and at the
        last step also when G's output on that step's batch is (finite but huge weights, e.g.
        after an update with lr 1e30, make a dead generator that the losses, computed before the
        update, do not show)."""
        named = [(f"G.{n}", p) for n, p in self.G.named_parameters()]
        if self.D is not None:
            named += [(f"D.{n}", p) for n, p in self.D.named_parameters()]
        finite = torch.stack([torch.isfinite(p).all() for _, p in named])
        bad = None if bool(finite.all()) else named[int((~finite).nonzero()[0])][0]
        what = f"non-finite weights ({bad} and maybe others)"
        if bad is None and step == self.cfg.steps:
            _, inp, _ = self.make_batch(step)
            self.G.eval()
            with torch.no_grad(), self._autocast():
                ok = torch.isfinite(forward_padded(self.G, inp, self.size_multiple)).all().float()
            self.G.train()
            if self.world > 1:
                dist.all_reduce(ok, op=dist.ReduceOp.MIN)
            if not bool(ok):
                big = max(float(p.detach().abs().max()) for _, p in named)
                bad, what = "G output", f"a generator whose output is non-finite (largest weight {big:.3g})"
        if bad is not None:
            raise NonFiniteWeightsError(
                f"{self.cfg.model}: {what} after step {step} (lr {self.cfg.lr}); the network is dead. Lower "
                f"the learning rate; {self._last_checkpoint()}")

    def _last_checkpoint(self) -> str:
        """Where a rerun would resume from, for the errors that stop a run: a checkpoint file only
        when one exists."""
        if self.ckpt_path.is_file():
            return f"last good checkpoint: {self.ckpt_path}"
        return f"no checkpoint was written yet (a rerun starts from step 0 in {self.out_dir})"

    def _barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

"""Training: one loop for every model of the paper (MSE-only or MSE + adversarial), on one
device or under torchrun (DistributedDataParallel), with atomic checkpoints and exact resume.

The data path holds the decoded uint8 faces on the training device; every step samples a batch,
draws one of the six scales, degrades the batch on the device (sgenlib.degrade) and takes one
optimizer step. All randomness of step t comes from a generator seeded by (seed, t), so a run
resumed from a checkpoint replays exactly the steps an uninterrupted run would have taken.

Run folder layout (out_dir), written by rank 0 alone under DDP:
  run_identity.json    what the run is: training data hash, degradation, model config, target steps
  checkpoint.pt        G, D, both optimizers, step, RNG states, config (rewritten atomically; the
                       previous generation is kept as checkpoint.prev.pt)
  losses.csv           one row per step: step, scale, loss_g, content, adversarial, loss_d, seconds
                       (losses of the global batch, averaged over ranks; seconds = wall time per
                       step averaged over its logging window, as the device is synchronised only
                       at log points)
  generator.pt         final generator weights + config (written once, at the end)
  train_summary.json   steps, wall time, images/s, device, content loss used, ...
  ../.<run>.lock       held (fcntl.flock) while a process trains into the folder; names the holder

A folder holding a run of another identity (other data, degradation or model settings) is never
reused: it is moved aside to ../replaced/<run>-<old id>-<UTC time> and the run trains afresh. Asking a
finished or checkpointed run for fewer steps than it has stops with an error (never relabelled).

Hot loop: no host-device synchronisation between log points (scale choice and seeds are computed
on the host; losses stay on the device until a log point), no per-step Python allocation beyond
the step's own tensors; in the generator phase D's parameters do not require gradients, so D's
weight gradients (never used: D's step zeroes them first) are neither computed nor all-reduced.

Command line (one process, or one per GPU under torchrun; see docs/scaling.md):
  python -m sgenlib.train --model SGEN-MSE --data PATH --out DIR --steps N --batch-size B --width W
  torchrun --nproc_per_node=K -m sgenlib.train ...      (DistributedDataParallel, NCCL or gloo)

The package, by job:
  config       TrainConfig, the constants the loop and the run folder share, the errors
  checkpoints  checkpoint file I/O: atomic writes, generations, weights-only loading, generator check
  identity     run identity and claiming a run folder (moved aside, never relabelled)
  ddp          rank and world size, devices, the torchrun process group, DDP wrapping, D's buffers
  step         one step: the batch of (seed, step), G and D steps (eqs. 10-12), URDGN's gated step
  loop         the loop: log points, loss and weight checks, checkpoints, generator.pt and summary
  trainer      Trainer: setup (device, models, optimizers, compile, DDP) and state (save, resume)
  run          train() (train, resume or reuse a run) and load_train_images()
  cli          the command line (__main__ runs it)
"""
from ..fileio import DiskFullError
from ..locks import FolderLockedError
from .checkpoints import (atomic_torch_save, check_generator, load_generation, load_weights_file,
                          previous_generation, save_generation)
from .config import (LOSS_COLUMNS, PROFILE_KEYS, PROGRESS_LINE_S, RESUME_IGNORED_KEYS, SPEED_ONLY_KEYS,
                     STEP_ORDERS, CheckpointError, NonFiniteLossError, NonFiniteWeightsError, RunStepsError,
                     TrainConfig)
from .ddp import default_device, device_name, dist_info, init_distributed, train_precision
from .identity import (RUN_FILES, claim_run_folder, finished_steps, identity_diff, images_sha256,
                       read_identity, run_identity, warm_start_source)
from .run import load_train_images, train
from .step import step_seed
from .trainer import Trainer
from .cli import main

__all__ = [
    "TrainConfig", "PROFILE_KEYS", "LOSS_COLUMNS", "PROGRESS_LINE_S", "SPEED_ONLY_KEYS",
    "RESUME_IGNORED_KEYS", "STEP_ORDERS",
    "NonFiniteLossError", "NonFiniteWeightsError", "CheckpointError", "RunStepsError",
    "DiskFullError", "FolderLockedError",
    "atomic_torch_save", "load_weights_file", "check_generator", "previous_generation", "save_generation",
    "load_generation",
    "images_sha256", "run_identity", "warm_start_source", "read_identity", "identity_diff", "RUN_FILES",
    "claim_run_folder", "finished_steps",
    "dist_info", "default_device", "init_distributed", "train_precision", "device_name",
    "step_seed", "Trainer", "train", "load_train_images", "main",
]

"""The command line: python -m sgenlib.train (one process), or torchrun ... -m sgenlib.train
(one process per GPU, DistributedDataParallel); see docs/scaling.md."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch.distributed as dist

from .. import data as celeba
from .. import losses
from ..archs import INIT_CHOICES, MODELS, RECIPES
from ..degrade import DEFAULT_LUMA, LUMA, DegradeOptions
from ..fileio import DiskFullError
from ..locks import FolderLockedError
from ..optim import BASELINE_OPTIM
from ..profiles import PROFILES, get_profile
from .config import STEP_ORDERS, CheckpointError, RunStepsError, TrainConfig
from .ddp import dist_info, init_distributed
from .run import load_train_images, train


def _positive(kind):
    """An argparse type: a number of `kind` above 0 (argparse's one-line error otherwise)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    parse.__name__ = kind.__name__
    return parse


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sgenlib.train",
                                description="Train one model of the paper (one process, or torchrun for DDP).")
    p.add_argument("--model", required=True, choices=list(MODELS))
    p.add_argument("--data", default=None, help="CelebA root (default $CELEBA_ROOT, else data/celeba)")
    p.add_argument("--out", required=True, help="run folder (checkpoint, losses.csv, generator.pt, summary)")
    p.add_argument("--profile", default="gpu-quick", choices=list(PROFILES),
                   help="split mode, train-image limit and defaults for the settings below (default gpu-quick)")
    p.add_argument("--steps", type=_positive(int))
    p.add_argument("--batch-size", type=_positive(int), help="global batch, split over the processes")
    p.add_argument("--width", type=_positive(float))
    p.add_argument("--lr", type=_positive(float))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ckpt-every", type=_positive(int))
    p.add_argument("--log-every", type=_positive(int))
    p.add_argument("--gate", choices=["sigmoid", "lrelu"])
    p.add_argument("--resample", choices=["strided", "pool"], help="SGEN conv_{2^m}/deconv_{2^m} (default strided)")
    p.add_argument("--d-layout", choices=["authors", "kit-v1"], help="SGEN-family discriminator (default authors)")
    p.add_argument("--baseline-optim", choices=list(BASELINE_OPTIM), help="baselines' optimizer (default own)")
    p.add_argument("--lambda-on", choices=list(losses.LAMBDA_PLACEMENTS))
    p.add_argument("--recipe", choices=list(RECIPES), help="baselines as their sources trained them (default "
                   "source) or kit-v1")
    p.add_argument("--init", choices=list(INIT_CHOICES), help="each model's source's initialisation (default "
                   "source) or sgen (N(0, 0.02) for all)")
    p.add_argument("--warm-start", help="generator.pt that initialises G (SRGAN: its SRResNet run)")
    p.add_argument("--step-order", choices=list(STEP_ORDERS),
                   help="g_then_d (authors' code, default) or d_then_g (kit v1)")
    p.add_argument("--amp", choices=["auto", "bf16", "off"])
    p.add_argument("--channels-last", choices=["auto", "on", "off"])
    p.add_argument("--compile", action="store_true", help="torch.compile the generator (eager if it fails)")
    p.add_argument("--compile-backend", default=None, help="torch.compile backend (default inductor)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (under torchrun: LOCAL_RANK's GPU)")
    p.add_argument("--color", choices=["gray", "rgb"], default="gray")
    p.add_argument("--luma", choices=sorted(LUMA), default=DEFAULT_LUMA,
                   help="gray conversion: authors (their code's swapped formula, default) or standard")
    p.add_argument("--clip-noise", action="store_true")
    p.add_argument("--round-8bit", action="store_true",
                   help="round HR and LR to 8 bits (kit v1); the authors' code resizes in float32")
    p.add_argument("--cache", default="cache", help="decoded-image cache folder")
    p.add_argument("--train-images", type=_positive(int), help="use a seeded sample of this many training images")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """The command line; a known failure (full disk, damaged checkpoint, locked folder, fewer steps
    than the run has) ends with its message as the last line and exit status 1."""
    try:
        return _main(argv)
    except (DiskFullError, CheckpointError, FolderLockedError, RunStepsError, FloatingPointError) as e:
        print(f"sgenlib.train: {e}", file=sys.stderr, flush=True)
        return 1


def _main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    prof = get_profile(args.profile)
    device, started = init_distributed(args.device)
    rank, world = dist_info()
    try:
        degrade = DegradeOptions(color=args.color, luma=args.luma, clip_noise=args.clip_noise,
                                 round_8bit=args.round_8bit)
        data = os.path.abspath(args.data) if args.data else None     # a relative --data: from the cwd
        try:
            images, data_info = load_train_images(data, prof, degrade, args.seed, args.cache, args.train_images)
        except celeba.CelebAError as e:
            parser.error(f"--data: {e}")                              # one line, no traceback
        given = dict(steps=args.steps, batch_size=args.batch_size, width=args.width, lr=args.lr,
                     ckpt_every=args.ckpt_every, log_every=args.log_every, gate=args.gate,
                     resample=args.resample, d_layout=args.d_layout, baseline_optim=args.baseline_optim,
                     lambda_on=args.lambda_on, step_order=args.step_order, amp=args.amp,
                     baseline_recipe=args.recipe, init=args.init, warm_start=args.warm_start,
                     channels_last=args.channels_last,
                     compile_backend=args.compile_backend)
        cfg = TrainConfig.from_profile(prof, args.model, seed=args.seed, compile=args.compile, **given)
        out = Path(args.out)
        summary = train(cfg, images, out, degrade, device, progress=not args.no_progress,
                        data_info={**data_info, "profile": args.profile})
        if rank == 0:
            print(json.dumps({k: summary.get(k) for k in (
                "model", "steps", "resumed_from_step", "batch_size", "world_size", "train_seconds",
                "images_per_s_steady", "device", "amp_bf16", "compile_active", "ddp_backend")}, indent=2))
    finally:
        if started:
            dist.destroy_process_group()
    return 0

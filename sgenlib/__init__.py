"""sgenlib: the library behind the SGEN reproduction kit.

Three layers, listed from the bottom up and read in this order; imports point only down: a module
imports from its own layer and the layers listed before it, never from a later one (LAYERS below;
tests/test_layers.py checks every import of every module).

core: the paper's method, trained and measured; no notebook, table or widget in sight
  paths       where relative paths point (the checkout's root)
  fileio      atomic file writes (temporary, fsync, rename), full-disk errors naming the file
  hostinfo    the CPU's model name and feature flags, without torch
  timing      device-synchronised timing (Clock, timed steps and calls) and peak memory
  data_root   where CelebA is: parameter, $CELEBA_ROOT, the root saved by --data, data/celeba
  progress    the kit's progress: tqdm bars, or plain stderr lines under run_all.sh
  paper       the paper's numbers (Tables 1-5), scales, model groups and the one model order
  degrade     the paper's degradation in torch, batched, on any device; the one gray conversion
  data        CelebA (folder or zip), splits, manifest, decoded uint8 cache; load_split, the default root
  celeba_fetch  getting CelebA (torchvision's downloader or the manual steps) and verifying a copy
  data.__main__  python -m sgenlib.data: content-sha256 (run_all.sh's data key), fetch, verify
  metrics     PSNR / SSIM (scikit-image reference, torch twin for validation), bootstrap CIs
  archs       SGEN and its ablations, the baselines, discriminators, VGG content loss; MODELS
  losses      adversarial and content losses
  optim       the optimizers of a run, from the model's spec (each baseline's own, else SGEN's Adam)
  profiles    smoke / cpu / gpu-quick / paper settings
  locks       one writer per folder: a lock file naming its holder
  reads       the record of files a stage read (checkpoints, generators), for run_all.sh
  procgroup   a notebook in its own process group, ended with the runner; its stderr passed through
  provenance  what produced each stage, whether it is up to date (run_all.sh's CLI: check, record, lock, run)
  runall      run_all.sh's checks and messages: --only and --set values, the notebook pair, a failed stage
  speed       torch.compile with an eager fallback, CUDA-graph inference
  train       training loop (single process or torchrun DDP), checkpoints, resume, run identity
  evaluate    test-split scoring, timing, gallery
  inference   load a trained generator, restore any image
  complexity  parameters and FLOPs of the twelve models
  learncheck  a short CPU training of a model, its test PSNR beside the degraded input's

report: the stages the notebooks run and what they write
  markdown    the one Markdown table writer (a leaf)
  mos.storage, mos.plan, mos.stats, mos.proxy, mos.report
              the MOS study without widgets: rating files, rating plan, statistics, PIQE proxy, outputs
  tables      Tables 1-5 beside the paper's from plain frames; CSV + Markdown files
  figures     metric-vs-scale, training curves, restoration grids
  study       a profile's folders and data; the stages (load, train, evaluate, gallery), run-folder readers
  claims      the paper's claims decided by paired tests
  publish     a results folder made fit to commit: portable paths, no file too big
  summary     a finished study's headline numbers read back from its files (the README's Results)
  viewer.panels, viewer.render, viewer.uploads, viewer.sources
              the viewer without widgets: panels, rendering, uploads, LIVE / GALLERY sources

apps: the JupyterLab widgets
  widgets     pieces the two apps share
  viewer.app  the restoration viewer's widget and open_viewer
  viewer      the viewer package: its plain names, and the widget's found lazily
  mos.app     the MOS rating session and app
"""
__version__ = "0.1.0"

LAYERS: dict[str, tuple[str, ...]] = {
    "core": ("paths", "fileio", "hostinfo", "timing", "data_root", "progress", "paper", "degrade",
             "data", "celeba_fetch", "data.__main__", "metrics", "archs", "losses", "optim",
             "profiles", "locks", "reads", "procgroup", "provenance", "runall", "speed", "train",
             "evaluate", "inference", "complexity", "learncheck"),
    "report": ("markdown", "mos.storage", "mos.plan", "mos.stats", "mos.proxy", "mos.report", "tables",
               "figures", "study", "claims", "publish", "summary", "viewer.panels", "viewer.render",
               "viewer.uploads", "viewer.sources"),
    "apps": ("widgets", "viewer.app", "viewer", "mos.app"),
}
"""Layer -> its modules (names below sgenlib; 'archs' stands for the whole sgenlib.archs package),
from the bottom up: each may import only from its own layer and those before it."""

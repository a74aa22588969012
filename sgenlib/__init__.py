"""sgenlib: the library behind the SGEN reproduction kit.

Three layers, listed from the bottom up and read in this order; imports point only down: a module
imports from its own layer and the layers listed before it, never from a later one (LAYERS below;
tests/test_layers.py checks every import of every module).

core: the paper's method, trained and measured; no notebook, table or widget in sight
  paths       where relative paths point (the checkout's root)
  hostinfo    the CPU's model name and feature flags, without torch
  data_root   where CelebA is: parameter, $CELEBA_ROOT, the root saved by --data, data/celeba
  progress    the kit's progress: tqdm bars, or plain stderr lines under run_all.sh
  paper       the paper's numbers (Tables 1-5), scales, model groups and the one model order
  degrade     the paper's degradation in torch, batched, on any device; the one gray conversion
  data        CelebA (folder or zip), splits, manifest, decoded uint8 cache; load_split, the default root
  celeba_fetch  getting CelebA (torchvision's downloader or the manual steps) and verifying a copy
  metrics     PSNR / SSIM (scikit-image reference, torch twin for validation), bootstrap CIs
  archs       SGEN and its ablations, the baselines, discriminators, VGG content loss; MODELS
  losses      adversarial and content losses
  optim       the optimizers of a run, from the model's spec (each baseline's own, else SGEN's Adam)
  profiles    smoke / cpu / gpu-quick / paper settings
  provenance  what produced each stage, whether it is up to date, one writer per folder (run_all.sh's CLI)
  runall      run_all.sh's checks and messages: --only and --set values, the notebook pair, a failed stage
  speed       torch.compile with an eager fallback, CUDA-graph inference
  train       training loop (single process or torchrun DDP), checkpoints, resume, run identity
  evaluate    test-split scoring, timing, gallery
  inference   load a trained generator, restore any image
  complexity  parameters and FLOPs of the twelve models
  learncheck  a short CPU training of a model, its test PSNR beside the degraded input's

report: the stages the notebooks run and what they write
  study       a profile's folders and data; the stages (load, train, evaluate, gallery), run-folder readers
  tables      Tables 1-5 beside the paper's from plain frames; the one Markdown table writer
  figures     metric-vs-scale, training curves, restoration grids
  claims      the paper's claims decided by paired tests
  publish     a results folder made fit to commit: portable paths, no file too big
  summary     a finished study's headline numbers read back from its files (the README's Results)
  mos.plan, mos.storage, mos.stats, mos.proxy, mos.report
              the MOS study without widgets: rating plan, rating files, statistics, PIQE proxy, outputs

apps: the JupyterLab widgets
  viewer      the restoration viewer
  mos.app     the MOS rating session and app
  widgets     pieces the two apps share
"""
__version__ = "0.1.0"

LAYERS: dict[str, tuple[str, ...]] = {
    "core": ("paths", "hostinfo", "data_root", "progress", "paper", "degrade", "data", "celeba_fetch", "metrics", "archs",
             "losses", "optim", "profiles", "provenance", "runall", "speed", "train", "evaluate", "inference",
             "complexity", "learncheck"),
    "report": ("study", "tables", "figures", "claims", "publish", "summary", "mos.plan", "mos.storage", "mos.stats", "mos.proxy",
               "mos.report"),
    "apps": ("viewer", "mos.app", "widgets"),
}
"""Layer -> its modules (names below sgenlib; 'archs' stands for the whole sgenlib.archs package),
from the bottom up: each may import only from its own layer and those before it."""

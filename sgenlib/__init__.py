"""sgenlib: the library behind the SGEN reproduction kit.

Modules, each small and importable on its own:
  data        CelebA (folder or zip), splits, manifest, decoded uint8 cache
  degrade     the paper's degradation in torch, batched, on any device
  metrics     PSNR / SSIM (scikit-image reference, torch twin for validation), bootstrap CIs
  archs       SGEN and its ablations, baselines, discriminators
  losses      adversarial and content losses
  train       training loop (single process or torchrun DDP), checkpoints, resume
  evaluate    test-split scoring, timing, gallery
  profiles    smoke / gpu-quick / paper settings
  study       the stages the notebooks call
"""
__version__ = "0.1.0"

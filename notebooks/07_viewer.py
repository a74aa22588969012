# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Restoration viewer
# Ground truth, degraded input and each model's restoration side by side, PSNR/SSIM under each, a
# magnified crop at the same place in every panel, and a button that saves the panel as a PNG under
# `results/<profile>/viewer/`.

# %% tags=["parameters"]
# Shared by notebooks 01-07, line for line (tests/test_notebooks.py); run_all.sh passes profile,
# data_root, results_dir, runs_dir, cache_dir and overrides. A notebook's own parameters follow it.
profile = "smoke"          # smoke | cpu | gpu-quick | paper (sgenlib/profiles.py)
data_root = ""             # CelebA root; empty: $CELEBA_ROOT, else the root saved by
                           # run_all.sh / lab.sh --data, else data/celeba
results_dir = "results"    # tables, figures, provenance go to results_dir/<profile>/
runs_dir = "runs"          # checkpoints (ignored by git)
cache_dir = "cache"        # decoded images (ignored by git)
color = "gray"             # gray (authors' code) | rgb
luma = "authors"           # authors (their code: 0.114 R + 0.587 G + 0.299 B) | standard (0.299 R + ...)
clip_noise = False         # the authors' code does not clip the noisy LR
seed = 0
overrides = {}             # profile settings to change, e.g. {"steps": 100}
# this notebook's own parameters
profile = "auto"           # auto here: the longest-trained profile with runs or a gallery
                           # (run_all.sh passes its own profile)
live = True                # restore now with runs/<profile>/*/generator.pt where they exist;
                           # False: the precomputed gallery only
display_scale = 2          # screen pixels per image pixel
show_models = None         # models ticked at start; None: all if at most 4, else SGEN, SGEN-MSE,
                           # SRGAN, URDGN
save_example = True        # save the first panel shown (what a headless run leaves behind)

# %% [markdown]
# ## The viewer
# **LIVE** when checkpoints exist (the test inputs are the evaluation's own deterministic degraded
# inputs); otherwise **GALLERY**: the PNGs of `results/<profile>/gallery/` (upload disabled). Pick an
# image id (or *random image*), a scale and the models; move the crop with the sliders or jump to an
# eye or the mouth (ipywidgets images take no clicks). *Upload a face*: restored as a degraded input
# at its own size, or as a low-resolution face enlarged x4 first; it has no ground truth, so no
# PSNR/SSIM.

# %%
from sgenlib import viewer as V

app = V.open_viewer(profile, results_dir, runs_dir, cache_dir, data_root, color=color, luma=luma,
                    clip_noise=clip_noise, seed=seed, live=live, display_scale=display_scale,
                    show_models=show_models, **overrides)
app

# %% [markdown]
# ## Save a panel
# `app.save()` writes what is on screen, as the *save panel as PNG* button does.

# %%
if save_example and app.panels:
    print('saved', app.save())

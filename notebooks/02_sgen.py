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
# # 02 · SGEN and SGEN-MSE
# Train both (resuming any interrupted run), score them on the test split at the six scales beside
# the degraded input and the paper, and time inference.

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
models = ["SGEN", "SGEN-MSE"]

# %% [markdown]
# ## Data

# %%
from sgenlib import figures, study as S, tables as T

st = S.open_study(profile, results_dir, runs_dir, cache_dir, color=color, luma=luma,
                  clip_noise=clip_noise, seed=seed, **overrides)
S.load_data(st, data_root)

# %% [markdown]
# ## Train

# %%
S.train_models(st, models)

# %% [markdown]
# ## Score, beside the paper

# %%
per_image = S.evaluate_models(st, models)
table = T.compare_with_paper(per_image, ['input', *models])
S.write_table(st, table, 'sgen_per_scale', 'SGEN and SGEN-MSE per scale: ours beside the paper',
              ['input = the degraded network input itself (the floor)'])
table

# %% [markdown]
# ## Inference time

# %%
timing = S.timing_table(st, models)
S.write_table(st, timing, 'sgen_timing', 'Inference time per image (batch 1) and batched')
timing

# %% [markdown]
# ## Figures
# PSNR and SSIM against scale for every model of the table (ours with 95% CI bands, the paper
# dashed), the training curves, and restorations as in the paper's figures: one scale with several
# faces, then one face at the six scales (columns: ground truth, degraded input, each model; PSNR /
# SSIM under each). A smoke run says under each figure that its flat gray restorations are expected.

# %%
gallery = S.update_gallery(st, models)
figures.table_figures(st, table, models, gallery, stem='sgen', label='SGEN and SGEN-MSE');

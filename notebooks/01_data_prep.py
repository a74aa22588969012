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
# # 01 · Data preparation
# CelebA splits, the manifest every result carries, and what the degradation does to a face at
# the six scales.

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

# %% [markdown]
# ## Open the data

# %%
from sgenlib import figures, study as S

st = S.open_study(profile, results_dir, runs_dir, cache_dir, color=color, luma=luma,
                  clip_noise=clip_noise, seed=seed, **overrides)
S.load_data(st, data_root)

# %% [markdown]
# ## The splits

# %%
S.data_summary(st)

# %% [markdown]
# ## The manifest
# The manifest (ids per split, hashes of the file list and of the split) is written to
# `results/<profile>/data_manifest.json`.

# %%
{k: st.manifest[k]
 for k in ('root', 'split_mode', 'counts', 'file_list_sha256', 'split_sha256', 'degrade')}

# %% [markdown]
# ## The degradation at the six scales

# %%
figures.degradation_grid(st.test, n_faces=min(3, len(st.test.ids)),
                         path=st.out("figures", "degradation_grid.png"), title_suffix=f" [{profile}]");

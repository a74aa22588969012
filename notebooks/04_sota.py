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
# # 04 · Comparison with the state of the art (Tables 3-4)
# SGEN and SGEN-MSE beside SRCNN, SRResNet, SRGAN, RED-Net and URDGN retrained on the same degraded
# multi-scale faces; per scale our PSNR and SSIM (95% CIs) beside the paper's, MOS, and the size
# and cost of all twelve models.

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
models = ["SGEN", "SGEN-MSE", "SRCNN", "SRResNet", "SRGAN", "RED-Net", "URDGN"]
ratings_dir = "results/mos/ratings"  # MOS ratings of notebook 06; our MOS only from real ratings

# %% [markdown]
# ## Data

# %%
from IPython.display import Markdown, display
from sgenlib import figures, study as S

st = S.open_study(profile, results_dir, runs_dir, cache_dir, color=color, luma=luma,
                  clip_noise=clip_noise, seed=seed, **overrides)
S.load_data(st, data_root)

# %%
from sgenlib import tables as T
from sgenlib.complexity import complexity_of_models

# %% [markdown]
# ## Train and score
# Train (or resume; a finished run is reused, so a model trained once serves every table), then
# score every model and the degraded input on the test split at the six scales.

# %%
table, notes = S.per_scale_stage(
    st, models, ratings_dir, 'table3_4_sota', ('table3_sota', 'table4_sota'),
    'Tables 3-4: SGEN, SGEN-MSE and five baselines per scale, ours beside the paper')
display(Markdown('\n'.join(f'- {n}' for n in notes)))
table

# %% [markdown]
# ## The paper's layout
# The same numbers in the paper's layout (its two tables of three scales each).

# %%
for scales in T.paper_split():
    display(T.paper_layout(table, scales))

# %% [markdown]
# ## What each run used
# SRGAN's content loss is VGG19 phi_5,4 only when ImageNet weights are in the local torch hub
# cache; otherwise pixel MSE, recorded here and in the table notes.

# %%
S.training_summaries(st, models)

# %% [markdown]
# ## Size and cost
# Parameters and GFLOPs (one 208x176 image) of all twelve models, at this profile's width and at
# the paper's width 1.0.

# %%
cx = complexity_of_models(widths=sorted({st.profile['width'], 1.0}), in_channels=st.degrade.channels)
S.write_table(st, cx, 'complexity', 'Parameters and forward GFLOPs of the twelve models at 208x176',
              T.complexity_notes())
cx

# %% [markdown]
# ## Figures
# PSNR and SSIM against scale for every model of the table (ours with 95% CI bands, the paper
# dashed), the training curves, and restorations as in the paper's figures: one scale with several
# faces, then one face at the six scales (columns: ground truth, degraded input, each model; PSNR /
# SSIM under each). A smoke run says under each figure that its flat gray restorations are expected.

# %%
gallery = S.update_gallery(st, models)
figures.table_figures(st, table, models, gallery, stem='sota', label='Tables 3-4');

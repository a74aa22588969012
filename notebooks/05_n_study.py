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
# # 05 · Influence of N (Table 5)
# SGEN trained with MSE only at N = 2, 3, 4: mean PSNR and SSIM over the six scales, training and
# inference time, GFLOPs and parameters, and their ratios to N = 3 beside the paper's.

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
models = ["SGEN-MSE-N2", "SGEN-MSE", "SGEN-MSE-N4"]

# %% [markdown]
# ## Data

# %%
from IPython.display import Markdown, display
from sgenlib import figures, study as S

st = S.open_study(profile, results_dir, runs_dir, cache_dir, color=color, luma=luma,
                  clip_noise=clip_noise, seed=seed, **overrides)
S.load_data(st, data_root)

# %%
import pandas as pd
from sgenlib import tables as T
from sgenlib.complexity import complexity_of_models

# %% [markdown]
# ## Train and score
# Train (or reuse finished runs) and score the three on the test split at the six scales.

# %%
S.train_models(st, models)

# %%
per_image = S.evaluate_models(st, models)
timing = S.timing_table(st, models)
S.write_table(st, timing, 'table5_n_study_timing', 'SGEN-MSE N = 2, 3, 4: inference time per image')
timing

# %% [markdown]
# ## Table 5
# Means over the six scales, training and inference time, GFLOPs and parameters, ratios to N = 3.

# %%
cx = complexity_of_models(models, widths=sorted({st.profile['width'], 1.0}),
                          in_channels=st.degrade.channels)
t5 = T.n_study_table(per_image, S.training_summaries(st, models), timing, cx, width=st.profile['width'])
notes = T.n_study_notes(t5, timing)
S.write_table(st, t5, 'table5_n_study', 'Table 5: SGEN-MSE with N = 2, 3, 4, ours beside the paper', notes)
S.write_table(st, T.n_study_paper_layout(t5), 'table5_n_study_paper_layout',
              'Table 5 in the paper\'s layout (a column per N)', notes)
display(Markdown('\n'.join(f'- {n}' for n in notes)))
t5

# %%
with pd.option_context('display.float_format', '{:.4g}'.format):
    display(T.n_study_paper_layout(t5))

# %% [markdown]
# ## Per scale
# Per scale (what the means above average), with SGEN-MSE's paper values.

# %%
table = T.per_scale_table(per_image, models)
S.write_table(st, table, 'table5_n_study_per_scale', 'SGEN-MSE N = 2, 3, 4 per scale',
              T.per_scale_notes(table))
table

# %% [markdown]
# ## Figures
# PSNR and SSIM against scale for every model of the table (ours with 95% CI bands, the paper
# dashed), the training curves, and restorations as in the paper's figures: one scale with several
# faces, then one face at the six scales (columns: ground truth, degraded input, each model; PSNR /
# SSIM under each). A smoke run says under each figure that its flat gray restorations are expected.

# %%
gallery = S.update_gallery(st, models)
figures.table_figures(st, table, models, gallery, stem='n_study', label='Table 5');

# %% [markdown]
# ## The paper's claims on this run
# Each claim 'A > B' is decided by one paired test on the per-image mean over the six scales
# (bootstrap interval and p-value, Holm-corrected across claims): reproduced, not reproduced or
# inconclusive; the rule, the training length and what the intervals cover are in the notes
# (sgenlib.claims). A smoke run, or any run trained for fewer than `SHORT_RUN_STEPS` (200) steps,
# decides nothing: every claim reads "not decided (smoke run)" or "not decided (N steps)", without
# a p-value.

# %%
from sgenlib import claims as C
claims, statements, claim_details = C.claims_tables(st)
display(statements)
claims

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
# # 06 · Mean Opinion Score (MOS)
# The paper's subjective study: each rater first sees the source (ground-truth) images, then rates
# restorations one at a time from 1 (bad) to 5 (excellent), blind to the model, in an order fixed
# per rater; 48 faces per scale and model in the paper. Ratings are appended to
# `ratings_dir/<rater>.csv` and a stopped session resumes. The analysis uses real ratings only: the
# kit never simulates raters. A no-reference score (PIQE) is shown beside it as a proxy, not a
# substitute.

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
ratings_dir = "results/mos/ratings"  # MOS ratings of notebook 06; our MOS only from real ratings
n_per_scale = 0           # faces per scale and model to rate (0 for the profile setting)
gallery_dir = ""          # rate this gallery folder instead of the profile rating set
launch_app = True

# %%
from IPython.display import display
from sgenlib import study as S
from sgenlib.paths import resolve_project_path
from sgenlib.mos import app as mos_app, proxy as mos_proxy, report as mos_report, stats as mos_stats

st = S.open_study(profile, results_dir, runs_dir, cache_dir, color=color, luma=luma,
                  clip_noise=clip_noise, seed=seed, **overrides)

# %% [markdown]
# ## The rating set
# Every trained model's restorations of the first faces of the test split at the six scales,
# written to `results/<profile>/mos_set/` (regenerated from checkpoints, not committed). Without
# checkpoints, or when the CelebA data cannot be opened here, the rating set already written (or
# else the gallery) is used.

# %%
rating_set, n_rate = S.mos_rating_set(st, n_per_scale, gallery_dir, data_root)
print(f"rating set: {rating_set} ({n_rate} faces per scale and model)")

# %% [markdown]
# ## The rating app
# Set `launch_app = False` in the parameters to skip it.

# %%
if launch_app:
    display(mos_app.RatingApp(rating_set, ratings_dir=resolve_project_path(ratings_dir),
                              n_per_scale=n_rate))

# %% [markdown]
# ## Analysis of the ratings collected so far

# %%
report = mos_stats.analyze(resolve_project_path(ratings_dir))
mos_report.show(report)

# %% [markdown]
# ## No-reference proxy (PIQE; lower is better)
# On the gallery panel (the same faces for every model), else on the rating set.

# %%
nr_table = mos_proxy.proxy_table(st.results / "gallery", rating_set)
mos_report.show_proxy(nr_table)

# %% [markdown]
# ## The tables written

# %%
written = mos_report.write_tables(report, st.results / "tables", nr_table=nr_table)
print(f"n_raters = {report.n_raters}", *written, sep="\n")

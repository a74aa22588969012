"""The source of every generated notebook: title, parameters cell, then cells ('#:' = markdown).
Notebooks stay thin: parameters, calls into sgenlib, display."""

COMMON_PARAMETERS = '''
profile = "smoke"          # smoke | gpu-quick | paper (sgenlib/profiles.py)
data_root = ""             # CelebA root; empty means $CELEBA_ROOT or data/celeba
results_dir = "results"    # tables, figures, provenance go to results_dir/<profile>/
runs_dir = "runs"          # checkpoints (ignored by git)
cache_dir = "cache"        # decoded images (ignored by git)
color = "gray"             # gray (authors' code) | rgb
luma = "standard"          # standard | authors (the swapped formula of the authors' code)
clip_noise = False         # the authors' code does not clip the noisy LR
seed = 0
overrides = {}             # profile settings to change, e.g. {"steps": 100}
'''

OPEN_STUDY = '''
from IPython.display import Markdown, display
from sgenlib import figures as F, study as S

st = S.open_study(profile, results_dir, runs_dir, cache_dir, color=color, luma=luma,
                  clip_noise=clip_noise, seed=seed, **overrides)
S.load_data(st, data_root)
'''

# ---- notebooks 03-05: every model of the paper under one protocol, Tables 1-5 -------------------
TABLES_IMPORT = '''
import pandas as pd
from sgenlib import tables as T
'''

RATINGS_PARAMETER = 'ratings_dir = "results/mos/ratings"  # MOS ratings of notebook 06; our MOS only from real ratings\n'


def _figure_cells(stem: str, label: str) -> list[str]:
    """PSNR / SSIM against scale, training curves, and the paper's restoration figures (one scale with
    several faces; one face at the six scales) for the `models` of a notebook and its `table`."""
    return [
        "#: PSNR and SSIM against scale for every model of the table (ours with 95% CI bands, the paper dashed), "
        "and the training curves.",
        f'F.metric_vs_scale(table, "psnr_db", path=st.out("figures", "{stem}_psnr_vs_scale.png"), '
        f'title=f"{label}: PSNR [{{profile}}]");\n'
        f'F.metric_vs_scale(table, "ssim", path=st.out("figures", "{stem}_ssim_vs_scale.png"), '
        f'title=f"{label}: SSIM [{{profile}}]");',
        f'F.training_curves({{m: st.results / "training" / f"{{m}}_losses.csv" for m in models}}, '
        f'path=st.out("figures", "{stem}_training_curves.png"), title=f"{label}: training [{{profile}}]");',
        "#: Restorations as in the paper's figures: one scale with several faces, then one face at the six "
        "scales (columns: ground truth, degraded input, each model; PSNR / SSIM under each).",
        "gallery = S.update_gallery(st, models)\n"
        "shown = [m for m in models if m in S.trained_models(st)]\n"
        f'F.restoration_grid(st.results / "gallery", gallery, shown, scale="208x176", '
        f'path=st.out("figures", "{stem}_restorations_208x176.png"), title=f"{label}, 208x176 [{{profile}}]");\n'
        f'F.restoration_grid(st.results / "gallery", gallery, shown, '
        f'path=st.out("figures", "{stem}_restorations_six_scales.png"), title=f"{label}, six scales [{{profile}}]");',
    ]


def _per_scale_cells(builder: str, stem: str, split_stems: tuple[str, str], title: str) -> list[str]:
    return [
        "#: Train (or resume; a finished run is reused, so a model trained once serves every table), then "
        "score every model and the degraded input on the test split at the six scales.",
        "S.train_models(st, models)",
        "per_image = S.evaluate_models(st, models)\n"
        "ratings = T.load_ratings(ratings_dir)\n"
        f"table = T.{builder}(per_image, ratings)\n"
        "notes = T.per_scale_notes(table, ratings, ratings_dir, T.training_summaries(st, models))\n"
        f"T.write_per_scale_tables(st, table, {stem!r}, {split_stems!r}, {title!r}, notes)\n"
        "display(Markdown('\\n'.join(f'- {n}' for n in notes)))\n"
        "table",
        "#: The same numbers in the paper's layout (its two tables of three scales each).",
        "for scales in T.paper_split():\n"
        "    display(T.paper_layout(table, scales))",
    ]


NOTEBOOKS = {
    "01_data_prep": (
        "# 01 · Data preparation\nCelebA splits, the manifest every result carries, and what the degradation "
        "does to a face at the six scales.",
        COMMON_PARAMETERS,
        [OPEN_STUDY,
         "S.data_summary(st)",
         "#: The manifest (ids per split, hashes of the file list and of the split) is written to "
         "`results/<profile>/data_manifest.json`.",
         "{k: st.manifest[k] for k in ('root', 'split_mode', 'counts', 'file_list_sha256', 'split_sha256', 'degrade')}",
         'F.degradation_grid(st.test, n_faces=min(3, len(st.test.ids)), '
         'path=st.out("figures", "degradation_grid.png"), title_suffix=f" [{profile}]");'],
    ),
    "02_sgen": (
        "# 02 · SGEN and SGEN-MSE\nTrain both (resuming any interrupted run), score them on the test split at "
        "the six scales beside the degraded input and the paper, and time inference.",
        COMMON_PARAMETERS + 'models = ["SGEN", "SGEN-MSE"]\n',
        [OPEN_STUDY,
         "S.train_models(st, models)",
         "per_image = S.evaluate_models(st, models)\n"
         "table = S.compare_with_paper(per_image, ['input', *models])\n"
         "S.write_table(st, table, 'sgen_per_scale', 'SGEN and SGEN-MSE per scale: ours beside the paper', "
         "['input = the degraded network input itself (the floor)'])\n"
         "table",
         "timing = S.timing_table(st, models)\n"
         "S.write_table(st, timing, 'sgen_timing', 'Inference time per image (batch 1) and batched')\n"
         "timing",
         'F.metric_vs_scale(table, "psnr_db", path=st.out("figures", "sgen_psnr_vs_scale.png"), title=f"PSNR [{profile}]");\n'
         'F.metric_vs_scale(table, "ssim", path=st.out("figures", "sgen_ssim_vs_scale.png"), title=f"SSIM [{profile}]");',
         'F.training_curves({m: st.results / "training" / f"{m}_losses.csv" for m in models}, '
         'path=st.out("figures", "sgen_training_curves.png"), title=f"training [{profile}]");',
         "gallery = S.update_gallery(st, models)\n"
         'F.restoration_grid(st.results / "gallery", gallery, S.trained_models(st), scale="208x176", '
         'path=st.out("figures", "sgen_restorations_208x176.png"), title=f"[{profile}]");'],
    ),
    "03_ablations": (
        "# 03 · Ablations (Tables 1-2)\nSGEN, SGEN-MSE and the non-sequential ensembles MEN / AEN / CEN (the SGU "
        "replaced by max / average / concatenation), trained under one protocol; per scale our PSNR and SSIM "
        "(95% CIs) beside the paper's, and MOS (the paper's; ours only from real ratings).",
        COMMON_PARAMETERS + 'models = ["SGEN", "SGEN-MSE", "MEN", "AEN", "CEN"]\n' + RATINGS_PARAMETER,
        [OPEN_STUDY, TABLES_IMPORT,
         *_per_scale_cells("ablation_table", "table1_2_ablations", ("table1_ablations", "table2_ablations"),
                           "Tables 1-2: SGEN, SGEN-MSE, MEN, AEN, CEN per scale, ours beside the paper"),
         *_figure_cells("ablations", "Tables 1-2")],
    ),
    "04_sota": (
        "# 04 · Comparison with the state of the art (Tables 3-4)\nSGEN and SGEN-MSE beside SRCNN, SRResNet, "
        "SRGAN, RED-Net and URDGN retrained on the same degraded multi-scale faces; per scale our PSNR and "
        "SSIM (95% CIs) beside the paper's, MOS, and the size and cost of all twelve models.",
        COMMON_PARAMETERS + 'models = ["SGEN", "SGEN-MSE", "SRCNN", "SRResNet", "SRGAN", "RED-Net", "URDGN"]\n'
        + RATINGS_PARAMETER,
        [OPEN_STUDY, TABLES_IMPORT,
         *_per_scale_cells("sota_table", "table3_4_sota", ("table3_sota", "table4_sota"),
                           "Tables 3-4: SGEN, SGEN-MSE and five baselines per scale, ours beside the paper"),
         "#: What each run used (SRGAN's content loss is VGG19 phi_5,4 only when ImageNet weights are in the "
         "local torch hub cache; otherwise pixel MSE, recorded here and in the table notes).",
         "T.training_summaries(st, models)",
         "#: Parameters and GFLOPs (one 208x176 image) of all twelve models, at this profile's width and at the "
         "paper's width 1.0.",
         "cx = T.complexity_of_models(widths=sorted({st.profile['width'], 1.0}), in_channels=st.degrade.channels)\n"
         "S.write_table(st, cx, 'complexity', 'Parameters and forward GFLOPs of the twelve models at 208x176', "
         "T.complexity_notes())\n"
         "cx",
         *_figure_cells("sota", "Tables 3-4")],
    ),
    "05_n_study": (
        "# 05 · Influence of N (Table 5)\nSGEN trained with MSE only at N = 2, 3, 4: mean PSNR and SSIM over the "
        "six scales, training and inference time, GFLOPs and parameters, and their ratios to N = 3 beside the "
        "paper's.",
        COMMON_PARAMETERS + 'models = ["SGEN-MSE-N2", "SGEN-MSE", "SGEN-MSE-N4"]\n',
        [OPEN_STUDY, TABLES_IMPORT,
         "#: Train (or reuse finished runs) and score the three on the test split at the six scales.",
         "S.train_models(st, models)",
         "per_image = S.evaluate_models(st, models)\n"
         "timing = S.timing_table(st, models)\n"
         "S.write_table(st, timing, 'table5_n_study_timing', 'SGEN-MSE N = 2, 3, 4: inference time per image')\n"
         "timing",
         "cx = T.complexity_of_models(models, widths=sorted({st.profile['width'], 1.0}), "
         "in_channels=st.degrade.channels)\n"
         "t5 = T.n_study_table(per_image, T.training_summaries(st, models), timing, cx, width=st.profile['width'])\n"
         "notes = T.n_study_notes(t5, timing)\n"
         "S.write_table(st, t5, 'table5_n_study', 'Table 5: SGEN-MSE with N = 2, 3, 4, ours beside the paper', notes)\n"
         "S.write_table(st, T.n_study_paper_layout(t5), 'table5_n_study_paper_layout', "
         "'Table 5 in the paper\\'s layout (a column per N)', notes)\n"
         "display(Markdown('\\n'.join(f'- {n}' for n in notes)))\n"
         "t5",
         "with pd.option_context('display.float_format', '{:.4g}'.format):\n"
         "    display(T.n_study_paper_layout(t5))",
         "#: Per scale (what the means above average), with SGEN-MSE's paper values.",
         "table = T.per_scale_table(per_image, models)\n"
         "S.write_table(st, table, 'table5_n_study_per_scale', 'SGEN-MSE N = 2, 3, 4 per scale', "
         "T.per_scale_notes(table))\n"
         "table",
         *_figure_cells("n_study", "Table 5"),
         "#: ## The paper's claims on this run\nEach claim 'A > B' is decided per scale by the 95% bootstrap CI of "
         "the paired per-image difference: holds (CI above 0), reversed (below 0) or unresolved.",
         "from sgenlib import claims as C\n"
         "from sgenlib.archs import MODELS\n"
         "claims, claim_details = C.check_claims(S.load_eval(st, list(MODELS)))\n"
         "S.write_table(st, claims, 'claims', 'The paper\\'s PSNR/SSIM claims, decided by paired 95% CIs')\n"
         "S.write_table(st, claim_details, 'claims_details', 'Every paired comparison behind the claims')\n"
         "claims"],
    ),
    "07_viewer": (
        "# 07 · Restoration viewer\nGround truth, degraded input and each model's restoration side by side, "
        "PSNR/SSIM under each, a magnified crop at the same place in every panel, and a button that saves the "
        "panel as a PNG under `results/<profile>/viewer/`.",
        COMMON_PARAMETERS + 'live = True                # restore now with runs/<profile>/*/generator.pt where they exist; '
        'False: the precomputed gallery only\n'
        'display_scale = 2          # screen pixels per image pixel\n'
        'show_models = None         # models ticked at start; None: all if at most 4, else SGEN, SGEN-MSE, SRGAN, URDGN\n'
        'save_example = True        # save the first panel shown (what a headless run leaves behind)\n',
        ["#: **LIVE** when checkpoints exist (the test inputs are the evaluation's own deterministic degraded "
         "inputs); otherwise **GALLERY**: the PNGs of `results/<profile>/gallery/` (upload disabled). "
         "Pick an image id (or *random image*), a scale and the models; move the crop with the sliders or "
         "jump to an eye or the mouth (ipywidgets images take no clicks). *Upload a face*: restored as a "
         "degraded input at its own size, or as a low-resolution face enlarged x4 first; it has no ground "
         "truth, so no PSNR/SSIM.",
         "from sgenlib import viewer as V\n\n"
         "app = V.open_viewer(profile, results_dir, runs_dir, cache_dir, data_root, color=color, luma=luma,\n"
         "                    clip_noise=clip_noise, seed=seed, live=live, display_scale=display_scale,\n"
         "                    show_models=show_models, **overrides)\n"
         "app",
         "if save_example and app.panels:\n"
         "    print('saved', app.save())"],
    ),
}

NOTEBOOKS["06_mos"] = (
    "# 06 · Mean Opinion Score (MOS)\nThe paper's subjective study: each rater first sees the source "
    "(ground-truth) images, then rates restorations one at a time from 1 (bad) to 5 (excellent), blind to "
    "the model, in an order fixed per rater; 48 faces per scale and model in the paper. Ratings are appended "
    "to `ratings_dir/<rater>.csv` and a stopped session resumes. The analysis uses real ratings only: the kit "
    "never simulates raters. A no-reference score (PIQE) is shown beside it as a proxy, not a substitute.",
    COMMON_PARAMETERS + RATINGS_PARAMETER
    + 'n_per_scale = 0           # faces per scale and model to rate (0 for the profile setting)\n'
    + 'gallery_dir = ""          # rate this gallery folder instead of the profile rating set\n'
    + 'launch_app = True\n',
    ["from IPython.display import Markdown, display\n"
     "from sgenlib import study as S\n"
     "from sgenlib.mos import app as mos_app, proxy as mos_proxy, report as mos_report, stats as mos_stats\n\n"
     "st = S.open_study(profile, results_dir, runs_dir, cache_dir, color=color, luma=luma,\n"
     "                  clip_noise=clip_noise, seed=seed, **overrides)",
     "#: The rating set: every trained model's restorations of the first faces of the test split at the six "
     "scales, written to `results/<profile>/mos_set/` (regenerated from checkpoints, not committed). Without "
     "checkpoints the committed gallery is used.",
     "rating_set, n_rate = S.mos_rating_set(st, n_per_scale, gallery_dir, data_root)\n"
     "print(f'rating set: {rating_set} ({n_rate} faces per scale and model)')",
     "mos_app.RatingApp(rating_set, ratings_dir=S.resolve_project_path(ratings_dir), n_per_scale=n_rate) "
     "if launch_app else print('launch_app=False: rating app not shown')",
     "#: ## Analysis of the ratings collected so far",
     "report = mos_stats.analyze(S.resolve_project_path(ratings_dir))\n"
     "print(report.summary()); print('CI:', mos_stats.CI_METHOD)\n"
     "display(report.mos if report.has_ratings else Markdown('_no ratings yet_'))",
     "display(report.agreement if report.has_ratings else Markdown('_no ratings yet: no agreement to compute_'))\n"
     "display(report.paired if len(report.paired) else Markdown(f\"_{report.paired.attrs.get('message', 'no tests')}_\"))",
     "for t in report.vs_paper['tables'].unique():\n"
     "    display(Markdown(f'**MOS, Tables {t}: paper / ours**'), mos_report.vs_paper_wide(report.vs_paper, t))\n"
     "mos_report.plot_mos_vs_paper(report);",
     "#: ## No-reference proxy (PIQE; lower is better)\nOn the gallery panel (the same faces for every model).",
     "try:\n"
     "    panel = st.results / 'gallery' if (st.results / 'gallery' / 'index.csv').is_file() else rating_set\n"
     "    nr_table, nr_message = mos_proxy.nr_quality_table(panel), ''\n"
     "except ImportError as e:\n"
     "    nr_table, nr_message = None, str(e)\n"
     "nr_table if nr_table is not None else print(nr_message)",
     "written = mos_report.write_tables(report, st.results / 'tables', nr_table=nr_table, nr_message=nr_message)\n"
     "print(f'n_raters = {report.n_raters}'); [print(p) for p in written];"],
)

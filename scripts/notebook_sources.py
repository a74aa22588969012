"""The source of every generated notebook: title, parameters cell, then cells ('#:' = markdown).
Notebooks stay thin: parameters, calls into sgenlib, display."""

COMMON_PARAMETERS = '''
profile = "smoke"          # smoke | gpu-quick | paper (sgenlib/profiles.py)
data_root = ""             # CelebA root; "" = $CELEBA_ROOT or data/celeba
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
         "gallery = S.update_gallery(st)\n"
         'F.restoration_grid(st.results / "gallery", gallery, S.trained_models(st), scale="208x176", '
         'path=st.out("figures", "sgen_restorations_208x176.png"), title=f"[{profile}]");'],
    ),
}

"""study.evaluate_models scores a model once per set of inputs and reuses it in later tables; the
seeds setting; table titles that say bf16; Table 5's times as ratios without warm-up."""
import pytest

from sgenlib import study as S


def test_scores_are_reused_only_for_the_same_inputs(tmp_path, celeba_dir):
    st = S.open_study("smoke", results_dir=str(tmp_path / "r"), runs_dir=str(tmp_path / "runs"),
                      cache_dir=str(tmp_path / "c"), limit={"train": 8, "val": 2, "test": 2}, steps=1,
                      batch_size=2, width=0.0625)
    S.load_data(st, str(celeba_dir))
    S.train_models(st, ["SGEN-MSE"], progress=False)
    first = S.evaluate_models(st, ["SGEN-MSE"], progress=False)
    csv = st.results / "eval" / "SGEN-MSE.csv"
    stamp = csv.stat().st_mtime_ns
    again = S.evaluate_models(st, ["SGEN-MSE"], progress=False)
    assert csv.stat().st_mtime_ns == stamp                  # read back, not recomputed
    assert again.sort_values(["model", "scale", "image_id"]).reset_index(drop=True).equals(
        first.sort_values(["model", "scale", "image_id"]).reset_index(drop=True))
    st.seed = 1                                             # other test inputs: scored again
    S.load_data(st, str(celeba_dir))
    S.evaluate_models(st, ["SGEN-MSE"], progress=False)
    assert csv.stat().st_mtime_ns != stamp


def _study(tmp_path):
    return S.open_study("smoke", results_dir=str(tmp_path / "r"), runs_dir=str(tmp_path / "runs"),
                        cache_dir=str(tmp_path / "c"))


def _summary(st, model, **kw):
    import json
    (st.runs / model).mkdir(parents=True, exist_ok=True)
    (st.runs / model / "train_summary.json").write_text(json.dumps({"model": model, **kw}))


def test_table_title_says_bf16_training(tmp_path):
    import pandas as pd
    st = _study(tmp_path)
    df = pd.DataFrame({"model": ["input", "SGEN", "SGEN-MSE"], "psnr_db": [20.0, 24.0, 24.5]})
    S.write_table(st, df, "t", "Some table")
    assert (st.results / "tables" / "t.md").read_text().splitlines()[0] == "# Some table"
    _summary(st, "SGEN", amp_bf16=True)
    _summary(st, "SGEN-MSE", amp_bf16=False)
    S.write_table(st, df, "t", "Some table")
    assert (st.results / "tables" / "t.md").read_text().splitlines()[0] == "# Some table (trained in bf16: SGEN)"
    _summary(st, "SGEN-MSE", amp_bf16=True)
    claims = pd.DataFrame({"a": ["SGEN-MSE"], "b": ["SGEN"], "verdict": ["inconclusive"]})
    S.write_table(st, claims, "c", "Claims")
    assert (st.results / "tables" / "c.md").read_text().splitlines()[0] == "# Claims (trained in bf16)"


def test_seeds_setting_trains_and_scores_each_seed(tmp_path, celeba_dir):
    """seeds = 2: two trainings per model (seed, seed + 1), each scored on the same test inputs;
    the tables read the first, load_eval_seeds reads both with their train_seed."""
    st = S.open_study("smoke", results_dir=str(tmp_path / "r"), runs_dir=str(tmp_path / "runs"),
                      cache_dir=str(tmp_path / "c"), limit={"train": 8, "val": 2, "test": 2}, steps=1,
                      batch_size=2, width=0.0625, seeds=2)
    S.load_data(st, str(celeba_dir))
    rows = S.train_models(st, ["SGEN-MSE"], progress=False)
    assert rows["train_seed"].tolist() == [0, 1]
    assert (st.runs / "SGEN-MSE" / "generator.pt").is_file() and (st.runs / "SGEN-MSE.seed1" / "generator.pt").is_file()
    first = S.evaluate_models(st, ["SGEN-MSE"], progress=False)
    assert len(first[first.model == "SGEN-MSE"]) == 2 * 6                    # the first training only
    both = S.load_eval_seeds(st, ["SGEN-MSE"])
    assert sorted(both["train_seed"].unique()) == [0, 1] and len(both) == 2 * 2 * 6
    import json
    import torch
    seeds = [json.loads((st.results / "training" / f"{r}_summary.json").read_text())["config"]["seed"]
             for r in ("SGEN-MSE", "SGEN-MSE.seed1")]
    assert seeds == [0, 1]
    w0, w1 = (torch.load(st.runs / r / "generator.pt", weights_only=True)["generator"]
              for r in ("SGEN-MSE", "SGEN-MSE.seed1"))
    assert any(not torch.equal(w0[k], w1[k]) for k in w0)                  # different trainings
    timing = S.timing_table(st, ["SGEN-MSE"])                               # the scoring precision
    assert timing["precision"].tolist() == ["fp32"] and not timing["amp_bf16"].any()


def test_steady_training_time_leaves_out_warm_up():
    import numpy as np
    import pandas as pd
    from sgenlib import tables as T
    # windows of 2 steps; the first (autotuning) and the first after a resume at step 4 are slow
    losses = pd.DataFrame({"step": range(1, 9), "seconds": [9.0, 9.0, 1.0, 1.0, 7.0, 7.0, 1.2, 1.2]})
    assert T.steady_seconds_per_step(losses, 2) == pytest.approx((1 + 1 + 7 + 7 + 1.2 + 1.2) / 6)
    assert T.steady_seconds_per_step(losses, 2, resumed_from=4) == pytest.approx(1.1)
    assert np.isnan(T.steady_seconds_per_step(losses.iloc[:2], 2))


def test_table5_times_are_ratios_beside_the_papers(tmp_path):
    import json
    import numpy as np
    import pandas as pd
    from sgenlib import tables as T
    from sgenlib.paper import N_STUDY_MODELS
    st = _study(tmp_path)
    models = list(N_STUDY_MODELS.values())
    for m, slow in zip(models, (0.5, 1.0, 1.5)):
        st.out("training", f"{m}_summary.json").write_text(json.dumps(
            {"model": m, "steps": 6, "train_seconds": 100.0, "config": {"log_every": 2}, "resumed_from_step": None}))
        pd.DataFrame({"step": range(1, 7), "seconds": [50.0, 50.0] + [slow] * 4}).to_csv(
            st.out("training", f"{m}_losses.csv"), index=False)
    summaries = S.training_summaries(st, models)
    assert list(summaries[T.STEADY_KEY]) == [0.5, 1.0, 1.5]                 # warm-up window left out
    timing = pd.DataFrame({"model": models, "ms_per_image_batch1": [1.0, 2.0, 3.0], "precision": ["fp32"] * 3,
                           "images_per_s_batched": [1.0, 1.0, 1.0], "device": ["cpu"] * 3})
    t = T.n_study_table(None, summaries, timing)
    assert list(t["train_time_ratio"]) == pytest.approx([0.5, 1.0, 1.5])
    assert [round(v, 2) for v in t["paper_train_ratio"]] == [0.77, 1.0, 1.35]
    assert list(t["inference_precision"]) == ["fp32"] * 3 and "train_seconds" not in t
    cols = list(t.columns)
    assert cols.index("paper_train_ratio") == cols.index("train_time_ratio") + 1
    layout = T.n_study_paper_layout(t)["quantity"].tolist()
    k80, ours = (next(i for i, q in enumerate(layout) if key in q) for key in ("paper: K80", "ours: s per step"))
    assert layout[k80 - 2].startswith("training time / N=3, paper") and layout[k80 - 3].startswith(
        "training time / N=3, ours") and ours == k80 - 1
    assert any("(fp32)" in q for q in layout)
    notes = " ".join(T.n_study_notes(t, timing))
    assert "N=2: 20 h = 0.77" in notes and "N=4: 35 h = 1.35" in notes and "in fp32 on cpu" in notes
    assert np.isnan(T.n_study_table(None)["train_time_ratio"]).all()


def test_command_line_and_study_key_the_same_training_data(tmp_path, celeba_dir):
    """One split loader: the training command line decodes the study's train split and records
    the same names hash in the run identity (a run trained by one is resumed by the other)."""
    import numpy as np
    from sgenlib import data
    from sgenlib.train import load_train_images
    st = S.load_data(S.open_study("smoke", results_dir=str(tmp_path / "r"), runs_dir=str(tmp_path / "runs"),
                                  cache_dir=str(tmp_path / "c")), str(celeba_dir))
    images, info = load_train_images(str(celeba_dir), st.profile, st.degrade, st.seed, st.cache)
    assert np.array_equal(images, st.train_images)
    assert info["train_names_sha256"] == data.names_sha256(st.manifest["ids"]["train"])
    assert info["train_content_sha256"] == st.manifest["train_content_sha256"]

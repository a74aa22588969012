"""study.evaluate_models scores a model once per set of inputs and reuses it in later tables."""
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

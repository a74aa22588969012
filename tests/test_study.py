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

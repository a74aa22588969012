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

"""sgenlib.summary reads a finished study's headline numbers from its files (what the README cites)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from sgenlib import summary
from sgenlib.paper import paper_results


def _study(tmp_path):
    res = tmp_path / "cpu"
    (res / "eval").mkdir(parents=True)
    (res / "training").mkdir()
    (res / "provenance").mkdir()
    for model, offset in (("input", 0.0), ("SGEN-MSE", 4.0), ("SGEN-MSE-N2", 3.0)):
        rows = [{"model": model, "image_id": f"{i:06d}", "scale": s, "psnr_db": 17.0 + offset + i, "ssim": 0.3}
                for i in range(2) for s in ("128x96", "208x176")]
        pd.DataFrame(rows).to_csv(res / "eval" / f"{model}.csv", index=False)
    pd.DataFrame([{"model": "SGEN-MSE", "image_id": "0", "scale": "128x96", "psnr_db": 0.0, "ssim": 0.0}]).to_csv(
        res / "eval" / "SGEN-MSE.seed1.csv", index=False)                   # a further seed: not the headline
    (res / "training" / "SGEN-MSE_summary.json").write_text(json.dumps(
        {"model": "SGEN-MSE", "steps": 2000, "batch_size": 4, "train_seconds": 120.0, "images_per_s_steady": 70.0,
         "precision": "bf16 autocast (AVX512-BF16)", "device": "cpu (AMD EPYC, 2 threads)"}))
    (res / "provenance" / "02_sgen.json").write_text(json.dumps(
        {"stage": "02_sgen", "status": "ok", "wall_seconds": 300.5, "git": {"commit": "0123456789abcdef", "dirty": False}}))
    return res


def test_mean_over_scales_beside_the_paper_and_the_input(tmp_path):
    df = summary.mean_over_scales(_study(tmp_path)).set_index("model")
    assert list(df.index) == ["input", "SGEN-MSE", "SGEN-MSE-N2"]
    assert df.loc["SGEN-MSE", "psnr_db"] == pytest.approx(21.5) and df.loc["SGEN-MSE", "n_images"] == 2
    paper = paper_results()
    assert df.loc["SGEN-MSE", "paper_psnr_db"] == pytest.approx(paper[paper.model == "SGEN-MSE"].psnr_db.mean())
    assert df.loc["SGEN-MSE-N2", "paper_psnr_db"] == pytest.approx(24.13)          # Table 5, N = 2
    assert df.loc["SGEN-MSE", "over_input_db"] == pytest.approx(4.0)


def test_budget_stages_and_markdown(tmp_path):
    res = _study(tmp_path)
    b = summary.training_budget(res).iloc[0]
    assert (b["images_seen"], b["of_paper_images"]) == (8000, pytest.approx(8000 / 32_000_000))
    st = summary.stage_times(res).iloc[0]
    assert (st["stage"], st["wall_seconds"], st["commit"], st["dirty"]) == ("02_sgen", 300.5, "0123456789", False)
    text = summary.markdown_summary(res)
    assert "| SGEN-MSE | 21.50 | 24.28 |" in text and "0.025%" in text and "| 02_sgen | ok | 300.50 |" in text

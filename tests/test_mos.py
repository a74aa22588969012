"""Tests of the MOS kit (the sgenlib.mos subpackage). Every rating here is synthetic and lives in tmp_path."""
from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sgenlib.mos import app as mos_app, plan, proxy, report, stats, storage
from sgenlib.paper import paper_results

MODELS = ["SGEN", "SGEN-MSE", "MEN"]
SCALES2 = ["128x96", "144x112"]
REPO = Path(__file__).resolve().parents[1]


def make_gallery(root: Path, scales=SCALES2, n_images=4, models=MODELS, rgb_model="MEN") -> Path:
    """A tiny gallery in the evaluation code's format: index.csv + PNGs at each scale's size."""
    rng = np.random.default_rng(123)
    rows = []
    for sc in scales:
        h, w = (int(v) for v in sc.split("x"))
        for k in range(n_images):
            image_id = f"{182640 + k:06d}"
            yy, xx = np.mgrid[0:h, 0:w]
            clean = (127 + 100 * np.sin(xx / 7.0 + k) * np.cos(yy / 9.0)).astype(float)
            for m in ["ground_truth", "input"] + list(models):
                noise = {"ground_truth": 0, "input": 30}.get(m, 8)
                img = np.clip(clean + rng.normal(0, noise, clean.shape), 0, 255).astype(np.uint8)
                if m == rgb_model:
                    img = np.stack([img, img, img], axis=-1)
                rel = f"{sc}/{image_id}/{m}.png"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(img).save(root / rel)
                psnr = "" if m == "ground_truth" else 22.5
                ssim = "" if m == "ground_truth" else 0.65
                rows.append(dict(image_id=image_id, scale=sc, model=m, path=rel, psnr_db=psnr, ssim=ssim))
    pd.DataFrame(rows).to_csv(root / "index.csv", index=False)
    return root


@pytest.fixture(scope="module")
def gallery(tmp_path_factory) -> Path:
    return make_gallery(tmp_path_factory.mktemp("gallery"))


def synth(rows):
    """Ratings frame from (rater, image_id, scale, model, score) tuples (synthetic test data)."""
    df = pd.DataFrame(rows, columns=["rater", "image_id", "scale", "model", "score"])
    df["time"] = "2025-01-01T00:00:00.000+00:00"
    return df[storage.RATING_COLUMNS]


# ------------------------------------------------------------------------------- plan
@pytest.mark.filterwarnings("ignore:the gallery lacks")
def test_plan_size_determinism_and_raters(gallery):
    index = plan.load_index(gallery)
    with pytest.warns(UserWarning, match="lacks the paper's scale"):
        p1 = plan.build_rating_plan(index, "alice", n_per_scale=3)
    p1b = plan.build_rating_plan(index, "alice", n_per_scale=3)
    p2 = plan.build_rating_plan(index, "bob", n_per_scale=3)
    assert len(p1) == 3 * len(SCALES2) * len(MODELS)
    assert set(p1["model"]) == set(MODELS)  # ground_truth and input are never rated
    assert (p1.groupby(["model", "scale"]).size() == 3).all()
    pd.testing.assert_frame_equal(p1, p1b)
    # same items for every rater (so agreement and paired tests work), different order
    key = ["image_id", "scale", "model"]
    assert set(map(tuple, p1[key].values)) == set(map(tuple, p2[key].values))
    assert list(map(tuple, p1[key].values)) != list(map(tuple, p2[key].values))
    # every restoration comes with its source image
    assert (p1["gt_path"] != "").all()
    assert all(g.endswith("ground_truth.png") for g in p1["gt_path"])
    # model subset
    p3 = plan.build_rating_plan(index, "alice", models=["SGEN"], n_per_scale=4)
    assert set(p3["model"]) == {"SGEN"} and len(p3) == 8


def test_plan_errors(gallery):
    index = plan.load_index(gallery)
    with pytest.raises(ValueError, match=r"fewer images than asked \(n_per_scale=48\).*128x96: 4"):
        plan.build_rating_plan(index, "alice")  # default 48 per scale
    with pytest.raises(ValueError, match="not in the gallery"):
        plan.build_rating_plan(index, "alice", models=["SRGAN"], n_per_scale=1)
    with pytest.raises(ValueError, match="references"):
        plan.build_rating_plan(index, "alice", models=["ground_truth"], n_per_scale=1)
    # an image missing one model's restoration is not eligible at that scale
    broken = index[~((index["image_id"] == "182640") & (index["scale"] == "128x96") & (index["model"] == "MEN"))]
    with pytest.raises(ValueError, match="128x96: 3"):
        plan.build_rating_plan(broken, "alice", n_per_scale=4)


def test_paper_default_is_288_per_model(tmp_path):
    rows = [dict(image_id=str(i), scale=sc, model=m, path=f"{sc}/{i}/{m}.png", psnr_db="", ssim="")
            for sc in ["128x96", "144x112", "160x128", "176x144", "192x160", "208x176"]
            for i in range(50) for m in ["ground_truth", "input", "SGEN", "MEN"]]
    p = plan.build_rating_plan(pd.DataFrame(rows), "r1")
    assert (p.groupby("model").size() == 288).all() and len(p) == 576


def test_plan_order_stable_across_processes(gallery):
    code = ("import sys; from sgenlib.mos import plan; import warnings; warnings.simplefilter('ignore');"
            "p = plan.build_rating_plan(plan.load_index(sys.argv[1]), 'carol', n_per_scale=2);"
            "print('|'.join(p['image_id'] + p['scale'] + p['model']))")
    outs = []
    for hs in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hs)
        outs.append(subprocess.run([sys.executable, "-c", code, str(gallery)], env=env, check=True,
                                   capture_output=True, text=True).stdout)
    assert outs[0] == outs[1] and outs[0].strip()


# ------------------------------------------------------------------------------- storage
@pytest.mark.parametrize("bad", ["", "a b", "../x", "x/y", ".hidden", "con", "é", "a" * 65, 7])
def test_bad_rater_id(bad, tmp_path):
    with pytest.raises(ValueError, match="rater id"):
        storage.append_rating(tmp_path, bad, "1", "128x96", "SGEN", 3)


@pytest.mark.parametrize("bad", [0, 6, 3.0, "3", True, None, -1])
def test_bad_score(bad, tmp_path):
    with pytest.raises(ValueError, match="score"):
        storage.append_rating(tmp_path, "r1", "1", "128x96", "SGEN", bad)
    assert not (tmp_path / "r1.csv").exists() or storage.load_ratings(tmp_path).empty


def test_append_writes_complete_lines(tmp_path):
    for k, s in enumerate([1, 5, 3]):
        storage.append_rating(tmp_path, "r1", f"00{k}", "128x96", "SGEN", np.int64(s))
    text = (tmp_path / "r1.csv").read_text()
    lines = text.split("\n")
    assert lines[0] == ",".join(storage.RATING_COLUMNS) and text.endswith("\n") and len(lines) == 5
    df = storage.load_ratings(tmp_path)
    assert list(df.columns) == storage.RATING_COLUMNS
    assert df["score"].tolist() == [1, 5, 3] and df["image_id"].tolist() == ["000", "001", "002"]
    assert all(t.endswith("+00:00") for t in df["time"])


def test_load_empty(tmp_path):
    df = storage.load_ratings(tmp_path / "nothing_here")
    assert df.empty and list(df.columns) == storage.RATING_COLUMNS


def test_truncated_last_line_tolerated(tmp_path):
    storage.append_rating(tmp_path, "r1", "1", "128x96", "SGEN", 4)
    storage.append_rating(tmp_path, "r1", "2", "128x96", "SGEN", 2)
    f = tmp_path / "r1.csv"
    with open(f, "ab") as fh:  # a crash in the middle of a write
        fh.write(b"r1,3,128x96,SGEN,5,2025-01-01T00:0")
    with pytest.warns(storage.RatingFileWarning, match="truncated last line"):
        df = storage.load_ratings(tmp_path)
    assert df["image_id"].tolist() == ["1", "2"]
    # the next append starts on a fresh line; the broken one stays isolated and skipped
    storage.append_rating(tmp_path, "r1", "3", "128x96", "SGEN", 5)
    with pytest.warns(storage.RatingFileWarning, match="unreadable line"):
        df = storage.load_ratings(tmp_path)
    assert df["image_id"].tolist() == ["1", "2", "3"] and df["score"].tolist() == [4, 2, 5]


def test_session_resume_after_interruption(gallery, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s1 = mos_app.RatingSession(gallery, "dora", tmp_path, n_per_scale=2)
        items = s1.plan
        assert not s1.resumed and s1.progress == (0, len(items))
        first = s1.next_item()
        assert first["model"] == items.loc[0, "model"] and first["image_id"] == items.loc[0, "image_id"]
        for s in (5, 4, 3):
            s1.rate(s)
        assert s1.progress == (3, len(items))
        del s1  # interrupted
        s2 = mos_app.RatingSession(gallery, "dora", tmp_path, n_per_scale=2)
    assert s2.resumed and s2.n_done_at_start == 3 and s2.progress_text == f"3 / {len(items)}"
    nxt = s2.next_item()
    assert (nxt["image_id"], nxt["scale"], nxt["model"]) == tuple(items.loc[3, ["image_id", "scale", "model"]])
    while not s2.done:
        s2.rate(3)
    assert s2.next_item() is None
    with pytest.raises(RuntimeError):
        s2.rate(3)
    df = storage.load_ratings(tmp_path)
    assert len(df) == len(items) and not df.duplicated(["image_id", "scale", "model"]).any()
    assert df["score"].tolist()[:3] == [5, 4, 3]


# ------------------------------------------------------------------------------- analysis
def test_statistics_and_tables_import_no_widgets():
    # tables and the MOS statistics must not depend on the rating app (ipywidgets)
    code = ("import sys, sgenlib.tables, sgenlib.mos.stats, sgenlib.mos.report, sgenlib.mos.proxy;"
            "bad = [m for m in sys.modules if m.startswith('ipywidgets') or m == 'sgenlib.mos.app'];"
            "print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert res.returncode == 0, res.stdout + res.stderr


T_975_DF2 = 4.302652729911275  # Student t quantile 0.975 with 2 degrees of freedom


def test_mos_table_by_hand():
    r = synth([
        ("a", "1", "128x96", "SGEN", 5), ("a", "2", "128x96", "SGEN", 4),
        ("b", "1", "128x96", "SGEN", 3), ("b", "2", "128x96", "SGEN", 3),
        ("c", "1", "128x96", "SGEN", 4), ("c", "2", "128x96", "SGEN", 4),
        ("a", "1", "128x96", "MEN", 2),  # one rater only: no interval
        # unbalanced cell: rater a 2 ratings (sum 9), rater b 1 rating (3)
        ("a", "1", "144x112", "SGEN", 5), ("a", "2", "144x112", "SGEN", 4), ("b", "1", "144x112", "SGEN", 3),
    ])
    t = stats.mos_table(r).set_index(["model", "scale"])
    row = t.loc[("SGEN", "128x96")]
    # rater means 4.5, 3, 4 -> mean 23/6; sd^2 = (4/9 + 25/36 + 1/36) / 2 = 7/12; se = sqrt(7/36)
    assert row["mos"] == pytest.approx(23 / 6)
    half = T_975_DF2 * math.sqrt(7 / 36)
    assert row["ci_low"] == pytest.approx(23 / 6 - half) and row["ci_high"] == pytest.approx(23 / 6 + half)
    assert row["n_ratings"] == 6 and row["n_raters"] == 3
    men = t.loc[("MEN", "128x96")]
    assert men["mos"] == 2 and math.isnan(men["ci_low"]) and men["n_raters"] == 1
    # pooled mean 4; cluster residuals 9 - 4*2 = 1, 3 - 4*1 = -1; se = sqrt(2/1 * 2) / 3 = 2/3
    unb = t.loc[("SGEN", "144x112")]
    half = 12.706204736174698 * 2 / 3  # t(0.975, df=1)
    assert unb["mos"] == pytest.approx(4) and unb["ci_high"] == pytest.approx(4 + half)
    assert "raters as clusters" in stats.mos_table(r).attrs["ci_method"]
    empty = stats.mos_table(storage.load_ratings("/nonexistent"))
    assert empty.empty and "mos" in empty.columns


def test_krippendorff_textbook_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units,
    # missing values; published alphas nominal .743, ordinal .815, interval .849, ratio .797.
    data = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    }
    r = synth([(o, str(u), "128x96", "SGEN", v) for o, vals in data.items() for u, v in enumerate(vals)
               if v is not None])
    assert stats.krippendorff_alpha(r, "ordinal") == pytest.approx(0.815, abs=5e-4)
    assert stats.krippendorff_alpha(r, "interval") == pytest.approx(0.849, abs=5e-4)
    assert stats.krippendorff_alpha(r, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert stats.krippendorff_alpha(r, "ratio") == pytest.approx(0.797, abs=5e-4)


def test_krippendorff_by_hand_and_perfect():
    # 2 raters, 3 units: (1,1), (2,3), (3,3). Coincidences o11=2, o23=o32=1, o33=2; n=(2,1,3), n=6.
    # interval: observed sum o*d2 = 2; expected 2*(2*1*1 + 2*3*4 + 1*3*1) = 58 -> 1 - 5*2/58
    # ordinal: d2(1,2)=(3-1.5)^2=2.25, d2(2,3)=(4-2)^2=4, d2(1,3)=(6-2.5)^2=12.25;
    #          observed 2*4 = 8; expected 2*(2*2.25 + 6*12.25 + 3*4) = 180 -> 1 - 5*8/180 = 7/9
    r = synth([("a", "u1", "s", "m", 1), ("b", "u1", "s", "m", 1), ("a", "u2", "s", "m", 2),
               ("b", "u2", "s", "m", 3), ("a", "u3", "s", "m", 3), ("b", "u3", "s", "m", 3)])
    assert stats.krippendorff_alpha(r, "interval") == pytest.approx(1 - 10 / 58)
    assert stats.krippendorff_alpha(r, "ordinal") == pytest.approx(7 / 9)
    perfect = synth([(rt, str(u), "s", "m", 1 + u % 5) for rt in "abc" for u in range(10)])
    assert stats.krippendorff_alpha(perfect, "ordinal") == pytest.approx(1.0)
    assert stats.krippendorff_alpha(perfect, "interval") == pytest.approx(1.0)
    assert math.isnan(stats.krippendorff_alpha(synth([("a", "1", "s", "m", 3)])))
    with pytest.raises(ValueError):
        stats.krippendorff_alpha(perfect, "cardinal")
    ag = stats.agreement_table(perfect)
    assert set(ag["level"]) == {"ordinal", "interval"} and (ag["n_units_pairable"] == 10).all()


def planted_ratings(n_raters=10, n_items=12, seed=0):
    """Synthetic test data: SGEN rated about 1.5 points above MEN; AEN rated like SGEN."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n_raters):
        for i in range(n_items):
            base = rng.integers(3, 5)
            rows.append((f"r{r}", str(i), "128x96", "SGEN", int(min(5, base + 1))))
            rows.append((f"r{r}", str(i), "128x96", "AEN", int(min(5, base + rng.integers(0, 2)))))
            rows.append((f"r{r}", str(i), "128x96", "MEN", int(max(1, base - 1))))
    return synth(rows)


def test_paired_tests_detect_planted_difference():
    r = planted_ratings()
    t = stats.paired_tests(r, reference="SGEN").set_index("model")
    assert set(t.index) == {"AEN", "MEN"}
    assert t.loc["MEN", "p_holm"] < 0.01 and bool(t.loc["MEN", "significant"])
    assert t.loc["MEN", "n"] == 10 and t.loc["MEN", "mean_diff"] > 1
    assert (t["p_holm"] >= t["p_value"]).all()
    ti = stats.paired_tests(r, reference="SGEN", pair_on="item").set_index("model")
    assert ti.loc["MEN", "n"] == 120 and ti.loc["MEN", "p_value"] < 1e-6
    tb = stats.paired_tests(r, reference="SGEN", by_scale=True)
    assert set(tb["scale"]) == {"128x96"}
    with pytest.raises(ValueError, match="has no ratings"):
        stats.paired_tests(r, reference="SRGAN")
    # no difference at all: p = 1
    same = synth([(f"r{k}", "1", "s", m, 4) for k in range(5) for m in ("SGEN", "MEN")])
    assert stats.paired_tests(same).loc[0, "p_value"] == 1.0


def test_holm():
    adj = stats.holm([0.01, 0.04, 0.03, float("nan")])
    assert adj[0] == pytest.approx(0.03) and adj[2] == pytest.approx(0.06) and adj[1] == pytest.approx(0.06)
    assert math.isnan(adj[3])


def test_mos_vs_paper():
    r = synth([("a", "1", "128x96", "SGEN", 5), ("b", "1", "128x96", "SGEN", 4)])
    vs = stats.mos_vs_paper(r)
    paper = paper_results()
    assert set(vs["tables"]) == {"1-2", "3-4"}
    row = vs[(vs["tables"] == "1-2") & (vs["model"] == "SGEN") & (vs["scale"] == "128x96")].iloc[0]
    expect = paper[(paper["model"] == "SGEN") & (paper["scale"] == "128x96")]["mos"].iloc[0]
    assert row["paper_mos"] == pytest.approx(expect) and row["our_mos"] == 4.5 and row["n_raters"] == 2
    men = vs[vs["model"] == "MEN"]
    assert len(men) == 6 and men["our_mos"].isna().all() and (men["n_raters"] == 0).all()
    assert men["paper_mos"].notna().all()
    assert len(vs[vs["tables"] == "3-4"]) == 7 * 6 and len(vs[vs["tables"] == "1-2"]) == 5 * 6
    none = stats.mos_vs_paper(storage.load_ratings("/nonexistent"))
    assert none["our_mos"].isna().all() and none.attrs["has_ratings"] is False


def test_analyze_and_write_without_ratings(tmp_path):
    rep = stats.analyze(tmp_path / "ratings")
    assert not rep.has_ratings and "No ratings yet" in rep.summary() and rep.n_raters == 0
    written = report.write_tables(rep, tmp_path / "tables", nr_table=proxy.proxy_table(tmp_path / "no_gallery"))
    names = {p.name for p in written}
    assert {"mos_table.csv", "mos_vs_paper.csv", "mos_vs_paper.md", "mos_paired_tests.md"} <= names
    md = (tmp_path / "tables" / "mos_vs_paper.md").read_text()
    assert "NO RATINGS YET" in md and "4.48 / -" in md
    assert "no gallery to score" in (tmp_path / "tables" / "mos_nr_proxy.md").read_text()


def test_analyze_with_ratings(tmp_path):
    r = planted_ratings(n_raters=3, n_items=4)
    for row in r.itertuples(index=False):
        storage.append_rating(tmp_path, row.rater, row.image_id, row.scale, row.model, row.score)
    rep = stats.analyze(tmp_path)
    assert rep.has_ratings and rep.n_raters == 3 and len(rep.ratings) == len(r)
    report.write_tables(rep, tmp_path / "t")
    assert "n_raters = 3" in (tmp_path / "t" / "mos_table.md").read_text()


# ------------------------------------------------------------------------------- widget
def _app(gallery, ratings_dir, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mos_app.RatingApp(gallery, ratings_dir=ratings_dir, n_per_scale=2, min_view_s=0, **kw)


def test_widget_flow_blind_and_resume(gallery, tmp_path):
    app = _app(gallery, tmp_path, page_size=3)
    assert app.screen == "login"
    app.rater_text.value = "bad id!"
    app.start_button.click()
    assert app.screen == "login" and "invalid rater id" in app.login_message.value
    app.rater_text.value = "eve"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app.start_button.click()
    assert app.screen == "source"
    n_src = len(SCALES2) * 2
    assert app.n_pages == math.ceil(n_src / 3) and len(app.source_grid.children) == 3
    app.next_button.click()
    assert app.page == 1 and len(app.source_grid.children) == n_src - 3 and app.next_button.disabled
    app.prev_button.click()
    assert app.page == 0
    assert [b.description for b in app.score_buttons] == ["1 bad", "2 poor", "3 fair", "4 good", "5 excellent"]
    app.begin_button.click()
    assert app.screen == "rating"
    n = app.session.n_total
    assert f"1 / {n}" in app.progress_label.value and app.resume_label.value == ""
    shown = []
    for k in range(3):  # rate three, checking blindness each time
        text = app.displayed_text()
        assert not any(m in text for m in MODELS), text
        item = app.session.next_item()
        assert app.image.value == (gallery / item["path"]).read_bytes()
        shown.append(item)
        app.score_buttons[k].click()
    df = storage.load_ratings(tmp_path)
    assert df["score"].tolist() == [1, 2, 3]
    assert df["model"].tolist() == [i["model"] for i in shown]

    # interrupted: a new app with the same id resumes
    app2 = _app(gallery, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app2.start("eve")
    assert app2.screen == "source" and "Welcome back" in app2.source_message.value
    app2.begin_button.click()
    assert "3 of" in app2.resume_label.value and f"4 / {n}" in app2.progress_label.value
    while app2.screen == "rating":
        assert not any(m in app2.displayed_text() for m in MODELS)
        app2.score_buttons[4].click()
    assert app2.screen == "finish" and "Thank you" in app2.finish_label.value
    assert len(storage.load_ratings(tmp_path)) == n
    app3 = _app(gallery, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app3.start("eve")
    assert app3.screen == "finish" and "already rated" in app3.finish_label.value


def test_widget_ignores_too_fast_clicks(gallery, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = mos_app.RatingApp(gallery, ratings_dir=tmp_path, n_per_scale=1, min_view_s=60)
        app.start("fred")
    app.begin_rating()
    app.score_buttons[2].click()
    assert "look at the image" in app.rating_message.value
    assert storage.load_ratings(tmp_path).empty


# ------------------------------------------------------------------------------- NR proxy
def test_nr_proxy_offline(gallery, monkeypatch):
    __import__("pypiqe")  # installed by scripts/setup.sh: the proxy must not be silently absent

    def no_network(*a, **k):
        raise AssertionError("the NR proxy tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    t = proxy.nr_quality_table(gallery)
    assert set(t["model"]) == {"ground_truth", "input", *MODELS}
    assert len(t) == len(SCALES2) * (len(MODELS) + 2) and (t["n"] == 4).all()
    assert (t["metric"] == "PIQE").all() and t["direction"].str.contains("lower is better").all()
    assert t["mean"].between(0, 100).all() and (t["ci_low"] <= t["mean"]).all()
    assert "PROXY" in t.attrs["note"]
    assert proxy.piqe_score(np.full((32, 32), 7, np.uint8)) == 100.0
    # the noisier input (sigma 30) scores worse (higher) than the mildly noisy fakes (sigma 8)
    m = t.set_index(["model", "scale"])["mean"]
    assert all(m[("input", sc)] > m[("SGEN", sc)] for sc in SCALES2)


# ------------------------------------------------------------------------------- notebook
def test_notebook_structure():
    nb = json.loads((REPO / "notebooks" / "06_mos.ipynb").read_text())
    assert nb["nbformat"] == 4
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    src = "".join(tagged[0]["source"])
    for p in ("profile", "results_dir", "gallery_dir", "ratings_dir", "n_per_scale", "launch_app"):
        assert p in src
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert c.get("outputs", []) == [] and c.get("execution_count") is None


@pytest.mark.slow
@pytest.mark.parametrize("with_ratings", [False, True])
def test_notebook_runs_headless(gallery, tmp_path, with_ratings):
    import papermill as pm
    ratings = tmp_path / "ratings"
    if with_ratings:  # synthetic test ratings, in tmp_path only
        for row in planted_ratings(n_raters=3, n_items=2).itertuples(index=False):
            storage.append_rating(ratings, row.rater, row.image_id, row.scale, row.model, row.score)
    pm.execute_notebook(
        str(REPO / "notebooks" / "06_mos.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
        parameters=dict(profile="smoke", results_dir=str(tmp_path / "results"), runs_dir=str(tmp_path / "runs"),
                        gallery_dir=str(gallery),
                        ratings_dir=str(ratings), launch_app=with_ratings, n_per_scale=2),
        progress_bar=False, cwd=str(tmp_path))
    tables = tmp_path / "results" / "smoke" / "tables"
    vs = (tables / "mos_vs_paper.md").read_text()
    if with_ratings:
        assert "n_raters = 3" in vs and "(n=3)" in vs
        assert len(pd.read_csv(tables / "mos_paired_tests.csv")) == 2
    else:
        assert "NO RATINGS YET" in vs and "4.48 / -" in vs
        assert pd.read_csv(tables / "mos_table.csv").empty
    nr = pd.read_csv(tables / "mos_nr_proxy.csv")
    assert (nr["metric"] == "PIQE").all() and len(nr) == len(SCALES2) * (len(MODELS) + 2)


# ------------------------------------------------------------------------------- rating set without data
def _trained_without_data(tmp_path, monkeypatch, with_mos_set=True):
    """A profile with a 'trained' SGEN (its generator file exists) and, optionally, the rating set
    run_all.sh rendered, but no CelebA here: CELEBA_ROOT unset and data/celeba absent."""
    monkeypatch.delenv("CELEBA_ROOT", raising=False)
    from sgenlib import study as S
    st = S.open_study("smoke", str(tmp_path / "results"), str(tmp_path / "runs"), str(tmp_path / "cache"))
    (st.runs / "SGEN").mkdir(parents=True)
    (st.runs / "SGEN" / "generator.pt").write_bytes(b"")
    if with_mos_set:
        make_gallery(st.results / "mos_set")
    return S, st


def test_rating_set_falls_back_without_data(tmp_path, monkeypatch):
    S, st = _trained_without_data(tmp_path, monkeypatch)
    assert not (REPO / "data" / "celeba").exists()
    with pytest.warns(UserWarning, match=r"could not be loaded.*`data_root` parameter"):
        folder, n = S.mos_rating_set(st)
    assert folder == st.results / "mos_set" and n == 2
    S2, st2 = _trained_without_data(tmp_path / "bare", monkeypatch, with_mos_set=False)
    with pytest.warns(UserWarning, match="data_root"), pytest.raises(FileNotFoundError, match="`data_root` parameter"):
        S2.mos_rating_set(st2)


@pytest.mark.slow
def test_notebook_without_celeba_root_rates_the_existing_set(tmp_path, monkeypatch):
    """After run_all.sh, 06_mos opened without CELEBA_ROOT uses the rating set already rendered."""
    import papermill as pm
    _trained_without_data(tmp_path, monkeypatch)
    pm.execute_notebook(
        str(REPO / "notebooks" / "06_mos.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
        parameters=dict(profile="smoke", results_dir=str(tmp_path / "results"), runs_dir=str(tmp_path / "runs"),
                        cache_dir=str(tmp_path / "cache"), ratings_dir=str(tmp_path / "ratings"), launch_app=True),
        progress_bar=False, cwd=str(tmp_path))
    out = (tmp_path / "out.ipynb").read_text()
    assert "data_root" in out and "mos_set" in out
    assert (tmp_path / "results" / "smoke" / "tables" / "mos_vs_paper.md").is_file()

"""The MOS study's outputs: CSV and Markdown tables (every one names n_raters) and the figure of
MOS against scale, ours beside the paper's."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..markdown import markdown_table
from ..paper import PAPER_N_PER_SCALE, PAPER_N_SUBJECTS
from .plan import sort_scales
from .proxy import NR_METRIC
from .stats import CI_METHOD, MosReport


def vs_paper_wide(vs: pd.DataFrame, tables: str) -> pd.DataFrame:
    """One table group as model x scale, cells 'paper / ours' ('-' where we have none)."""
    part = vs[vs["tables"] == tables]
    cell = [f"{p:.2f} / " + ("-" if pd.isna(o) else f"{o:.2f} (n={r})")
            for p, o, r in zip(part["paper_mos"], part["our_mos"], part["n_raters"])]
    wide = part.assign(cell=cell).pivot(index="model", columns="scale", values="cell")
    wide = wide.reindex(index=[m for m in part["model"].unique()],
                        columns=sort_scales(part["scale"].unique()))
    return wide.reset_index()


def write_tables(report: MosReport, tables_dir: str | os.PathLike, nr_table: pd.DataFrame | None = None
                 ) -> list[Path]:
    """Write mos_*.csv and mos_*.md under ``tables_dir``; every .md names n_raters. ``nr_table``
    (from :func:`sgenlib.mos.proxy.proxy_table`): the PIQE proxy, or, when empty, the reason it
    is missing (its ``attrs["message"]``)."""
    d = Path(tables_dir)
    d.mkdir(parents=True, exist_ok=True)
    note = (f"n_raters = {report.n_raters}, n_ratings = {len(report.ratings)} (paper: "
            f"{PAPER_N_SUBJECTS} subjects, {PAPER_N_PER_SCALE} images per scale and model)."
            if report.has_ratings else f"n_raters = 0: NO RATINGS YET. {report.message}")
    written: list[Path] = []

    def put(name: str, df: pd.DataFrame, title: str, extra: str = "", md_body: str | None = None):
        df.to_csv(d / f"{name}.csv", index=False)
        if md_body is None:
            md_body = markdown_table(df, digits=3) + "\n" if len(df) else "_(empty)_\n"
        (d / f"{name}.md").write_text(f"# {title}\n\n{note}\n\n{extra + chr(10) + chr(10) if extra else ''}{md_body}")
        written.extend([d / f"{name}.csv", d / f"{name}.md"])

    put("mos_table", report.mos, "MOS per model and scale (our raters)", f"CI: {CI_METHOD}.")
    put("mos_agreement", report.agreement, "Inter-rater agreement (Krippendorff's alpha)",
        "Units: (image_id, scale, model); alpha is undefined with fewer than two raters per item.")
    put("mos_paired_tests", report.paired, "Paired tests against the reference model",
        report.paired.attrs.get("test", "") + ("; pairing: " + report.paired.attrs["pairing"]
                                                if "pairing" in report.paired.attrs else ""))
    md = "".join(f"## Tables {t} (cells: paper / ours)\n\n"
                 + markdown_table(vs_paper_wide(report.vs_paper, t), digits=3) + "\n\n"
                 for t in report.vs_paper["tables"].unique())
    put("mos_vs_paper", report.vs_paper, "MOS: paper vs ours", f"CI: {CI_METHOD}.", md_body=md)
    if nr_table is not None and len(nr_table):
        put("mos_nr_proxy", nr_table, f"No-reference PROXY for MOS: {NR_METRIC['metric']} "
            f"({NR_METRIC['direction']})", NR_METRIC["note"] + " CI: 95% t-interval over images.")
    elif nr_table is not None:
        (d / "mos_nr_proxy.md").write_text(f"# No-reference proxy\n\n{nr_table.attrs.get('message', '')}\n")
        written.append(d / "mos_nr_proxy.md")
    return written


def plot_mos_vs_paper(report: MosReport):
    """Matplotlib figure: MOS vs scale per model, paper dashed, ours solid with CI."""
    import matplotlib.pyplot as plt

    vs = report.vs_paper
    groups = list(vs["tables"].unique())
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 4), squeeze=False)
    for ax, t in zip(axes[0], groups):
        part = vs[vs["tables"] == t]
        scales = sort_scales(part["scale"].unique())
        x = np.arange(len(scales))
        for i, m in enumerate(part["model"].unique()):
            g = part[part["model"] == m].set_index("scale").reindex(scales)
            color = f"C{i}"
            ax.plot(x, g["paper_mos"], "--", color=color, alpha=0.6, label=f"{m} (paper)")
            if g["our_mos"].notna().any():
                ax.errorbar(x, g["our_mos"], yerr=[g["our_mos"] - g["our_ci_low"], g["our_ci_high"] - g["our_mos"]],
                            fmt="o-", color=color, capsize=3, label=f"{m} (ours)")
        ax.set_xticks(x, scales, rotation=30)
        ax.set_ylim(0.8, 5.2)
        ax.set_ylabel("MOS (1 bad ... 5 excellent)")
        ax.set_title(f"Tables {t}" + ("" if report.has_ratings else " - no ratings yet, paper only"))
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def show(report: MosReport) -> None:
    """Display the analysis in a notebook: summary, MOS, agreement, paired tests, the paper's MOS
    beside ours (a table per group) and the figure; says so where there are no ratings yet."""
    from IPython.display import Markdown, display

    print(report.summary())
    print("CI:", CI_METHOD)
    if report.has_ratings:
        display(report.mos, report.agreement)
    else:
        display(Markdown("_no ratings yet: no MOS of ours, no agreement to compute_"))
    if len(report.paired):
        display(report.paired)
    else:
        display(Markdown(f"_paired tests: {report.paired.attrs.get('message', 'none')}_"))
    for t in report.vs_paper["tables"].unique():
        display(Markdown(f"**MOS, Tables {t}: paper / ours**"), vs_paper_wide(report.vs_paper, t))
    plot_mos_vs_paper(report)


def show_proxy(nr_table: pd.DataFrame) -> None:
    """Display the PIQE proxy table (:func:`sgenlib.mos.proxy.proxy_table`) or why it is missing."""
    from IPython.display import Markdown, display

    if len(nr_table):
        display(Markdown(f"PIQE of `{nr_table.attrs.get('gallery', '')}` ({NR_METRIC['direction']}): "
                         f"{NR_METRIC['note']}"), nr_table)
    else:
        display(Markdown(f"_{nr_table.attrs.get('message', 'no proxy')}_"))

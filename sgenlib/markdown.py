"""The kit's one Markdown table writer (tables, the MOS report and the README's Results use it).
A leaf: it imports nothing from sgenlib, so any report module may use it."""
from __future__ import annotations

import numpy as np
import pandas as pd


def markdown_table(df: pd.DataFrame, digits: int | None = None) -> str:
    """`df` as a GitHub-style Markdown table (the kit's one Markdown writer). NaN / None show as
    '—' and '|' in a cell is escaped; a float has `digits` decimals, or by default 4 significant
    digits below 1 and 2 decimals from 1 up."""
    def cell(v):
        if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v)):
            return "—"
        if isinstance(v, (float, np.floating)):
            return f"{v:.{digits}f}" if digits is not None else f"{v:.4g}" if abs(v) < 1 else f"{v:.2f}"
        return str(v).replace("|", "\\|")
    lines = ["| " + " | ".join(str(c) for c in df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)

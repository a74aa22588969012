"""Crash-safe storage of MOS ratings: one CSV per rater, ``<ratings_dir>/<rater>.csv``, with
columns rater, image_id, scale, model, score (1-5), time (UTC, ISO 8601)."""
from __future__ import annotations

import csv
import io
import numbers
import os
import re
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

RATING_COLUMNS = ["rater", "image_id", "scale", "model", "score", "time"]
DEFAULT_RATINGS_DIR = Path("results/mos/ratings")

_RATER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_RESERVED_NAMES = {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {
    f"lpt{i}" for i in range(1, 10)
}


class RatingFileWarning(UserWarning):
    """A rating file had a line that could not be read (e.g. truncated by a crash); it was skipped."""


def validate_rater_id(rater_id: object) -> str:
    """The rater id, stripped, if it is a safe file name; ValueError otherwise."""
    if not isinstance(rater_id, str):
        raise ValueError(f"rater id must be a string, got {type(rater_id).__name__}")
    rid = rater_id.strip()
    if not _RATER_RE.match(rid) or rid.lower().split(".")[0] in _RESERVED_NAMES:
        raise ValueError(
            f"invalid rater id {rater_id!r}: use 1-64 characters, letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (it becomes the rating file's name)"
        )
    return rid


def validate_score(score: object) -> int:
    """The score as int if it is an integer 1..5; ValueError otherwise."""
    if isinstance(score, (bool, np.bool_)) or not isinstance(score, numbers.Integral):
        raise ValueError(f"score must be an integer from 1 to 5, got {score!r} ({type(score).__name__})")
    s = int(score)
    if not 1 <= s <= 5:
        raise ValueError(f"score must be an integer from 1 (bad) to 5 (excellent), got {s}")
    return s


def empty_ratings() -> pd.DataFrame:
    """A ratings frame with no rows and the columns and dtypes of :func:`load_ratings`."""
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in RATING_COLUMNS})
    df["score"] = df["score"].astype("int64")
    return df


def rating_file(ratings_dir: str | os.PathLike, rater_id: str) -> Path:
    return Path(ratings_dir) / f"{validate_rater_id(rater_id)}.csv"


def _csv_line(values: Sequence[object]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def append_rating(
    ratings_dir: str | os.PathLike,
    rater_id: str,
    image_id: str,
    scale: str,
    model: str,
    score: int,
    when: datetime | None = None,
) -> dict:
    """Append one rating to ``<ratings_dir>/<rater>.csv`` atomically and durably.

    The line (with the header when the file is new) goes out in one ``os.write`` on an O_APPEND
    descriptor under an exclusive lock, then is fsynced. If the file's last line was cut by an
    earlier crash, a newline is written first so that the broken line stays alone (and is
    skipped, with a warning, by :func:`load_ratings`).
    """
    rid = validate_rater_id(rater_id)
    s = validate_score(score)
    when = when or datetime.now(timezone.utc)
    if when.tzinfo is None:
        raise ValueError("rating time must be timezone-aware (UTC)")
    stamp = when.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    row = {"rater": rid, "image_id": str(image_id), "scale": str(scale), "model": str(model),
           "score": s, "time": stamp}
    d = Path(ratings_dir)
    new_dir = not d.exists()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{rid}.csv"
    line = _csv_line([row[c] for c in RATING_COLUMNS]).encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - not POSIX
            pass
        size = os.fstat(fd).st_size
        if size == 0:
            payload = _csv_line(RATING_COLUMNS).encode("utf-8") + line
        else:
            last = os.pread(fd, 1, size - 1)
            payload = line if last == b"\n" else b"\n" + line
        written = os.write(fd, payload)
        if written != len(payload):  # pragma: no cover - disk full and the like
            raise OSError(f"short write to {path}: {written} of {len(payload)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)
    if new_dir or size == 0:
        try:  # make the new directory entry durable too
            dfd = os.open(d, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:  # pragma: no cover - platforms without directory fsync
            pass
    return row


def _parse_line(fields: list[str]) -> dict | None:
    if len(fields) != len(RATING_COLUMNS):
        return None
    row = dict(zip(RATING_COLUMNS, fields))
    if not _RATER_RE.match(row["rater"]) or not row["image_id"] or not row["scale"] or not row["model"]:
        return None
    if not re.fullmatch(r"[1-5]", row["score"]):
        return None
    try:
        t = datetime.fromisoformat(row["time"])
    except ValueError:
        return None
    if t.tzinfo is None:
        return None
    row["score"] = int(row["score"])
    return row


def read_rating_file(path: str | os.PathLike) -> pd.DataFrame:
    """One rater's file; unreadable lines (e.g. a last line cut by a crash) are skipped with a
    :class:`RatingFileWarning`."""
    path = Path(path)
    raw = path.read_bytes().decode("utf-8", errors="replace")
    if not raw:
        return empty_ratings()
    lines = raw.split("\n")
    ends_clean = lines[-1] == ""
    if ends_clean:
        lines = lines[:-1]
    if not lines or lines[0].strip() != ",".join(RATING_COLUMNS):
        warnings.warn(f"{path}: header is not {','.join(RATING_COLUMNS)}; file skipped", RatingFileWarning)
        return empty_ratings()
    rows = []
    for no, text in enumerate(lines[1:], start=2):
        if text.strip() == "":
            continue
        row = _parse_line(next(csv.reader([text])))
        if row is None:
            where = "truncated last line" if (no == len(lines) and not ends_clean) else "unreadable line"
            warnings.warn(f"{path}:{no}: {where} skipped: {text[:80]!r}", RatingFileWarning)
            continue
        rows.append(row)
    if not rows:
        return empty_ratings()
    df = pd.DataFrame(rows, columns=RATING_COLUMNS)
    for c in ("rater", "image_id", "scale", "model", "time"):
        df[c] = df[c].astype(object)
    df["score"] = df["score"].astype("int64")
    if (df["rater"] != path.stem).any():
        warnings.warn(f"{path}: some rows name another rater than {path.stem!r}", RatingFileWarning)
    return df


def load_ratings(ratings_dir: str | os.PathLike = DEFAULT_RATINGS_DIR) -> pd.DataFrame:
    """All ratings under ``ratings_dir`` (``*.csv``, one per rater), columns
    rater, image_id, scale, model, score, time. An empty frame with those columns when there are
    none (or the folder does not exist). If a rater rated the same item twice, the last rating is
    kept (with a warning)."""
    d = Path(ratings_dir)
    frames = [read_rating_file(f) for f in sorted(d.glob("*.csv"))] if d.is_dir() else []
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_ratings()
    df = pd.concat(frames, ignore_index=True)
    key = ["rater", "image_id", "scale", "model"]
    dup = df.duplicated(key, keep="last")
    if dup.any():
        warnings.warn(f"{int(dup.sum())} repeated rating(s) of the same item by the same rater; "
                      "the last one of each is kept", RatingFileWarning)
        df = df[~dup].reset_index(drop=True)
    return df

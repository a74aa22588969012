"""The longest silences of a command at a terminal, from a `script` recording.

    script -q --log-timing run.tm --log-out run.log -c "./run_all.sh --profile smoke --data PATH"
    python scripts/terminal_silence.py run.tm run.log [--top 8]

`script` runs the command under a pseudo-terminal (as a person's terminal) and writes, for every
piece of output, the seconds since the previous one (--log-timing: "O <delay> <bytes>" lines, or
"<delay> <bytes>" in the classic format). The longest delays are the silences; each is printed with
the last line shown before it and the first line after it.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def silences(timing: str | Path, log: str | Path) -> list[tuple[float, float, str, str]]:
    """(seconds silent, seconds into the run when it began, line before, line after), longest first."""
    data = Path(log).read_bytes()
    pos = data.index(b"\n") + 1 if data.startswith(b"Script started") else 0
    t, last, out = 0.0, 0.0, []
    for line in Path(timing).read_text().splitlines():
        parts = line.split()
        if not parts or parts[0] == "H":                  # advanced format's header lines
            continue
        kind, fields = (parts[0], parts[1:]) if parts[0].isalpha() else ("O", parts)
        t += float(fields[0])                            # every entry's delay is since the previous entry
        if kind != "O":                                  # input, signals: not output
            continue
        size, delay, last = int(fields[1]), t - last, t
        before = data[max(0, pos - 400):pos].replace(b"\r", b"\n").decode(errors="replace").strip()
        after = data[pos:pos + size].replace(b"\r", b"\n").decode(errors="replace").strip()
        out.append((delay, t - delay, (before.splitlines() or [""])[-1], (after.splitlines() or [""])[0]))
        pos += size
    return sorted(out, key=lambda g: -g[0])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("timing")
    ap.add_argument("log")
    ap.add_argument("--top", type=int, default=8)
    a = ap.parse_args(argv)
    gaps = silences(a.timing, a.log)
    total = sum(g[0] for g in gaps)
    print(f"{len(gaps)} pieces of output over {total:.1f} s; longest silence {gaps[0][0] if gaps else 0:.1f} s")
    for delay, at, before, after in gaps[:a.top]:
        print(f"{delay:6.1f} s from t = {at:6.1f} s, after {before[-80:]!r}, before {after[:80]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

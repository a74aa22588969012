"""A notebook in its own process group, ended with the runner: run_all.sh starts each papermill
through `python -m sgenlib.provenance run -- CMD`, which calls `run_in_group`. Ctrl-C, a TERM, or the
runner's death (even kill -9) ends the notebook and its kernel; its stderr passes through, with
ipykernel's TCP warning shown once per run."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _end_tree(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the child's process group and every descendant (a Jupyter kernel starts its own
    session), then SIGKILL whatever is left after `grace` seconds."""
    pids = [proc.pid] + (_descendants(proc.pid) if Path("/proc").is_dir() else [])
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for target in ([-proc.pid] + pids):
            try:
                os.killpg(-target, sig) if target < 0 else os.kill(target, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            alive = [p for p in pids if Path(f"/proc/{p}").exists() and _state(p) not in ("Z", "X")]
            if not alive:
                return
            time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "X"


KERNEL_WARNING = b"[IPKernelApp] WARNING | Kernel is running over TCP without encryption"
"""ipykernel's warning at every kernel start; run_all.sh shows it once per run (--warn-once)."""
_KERNEL_WARNING_LINE = re.compile(re.escape(KERNEL_WARNING) + rb"[^\n]*\n")


def _held_from(buf: bytes) -> int:
    """Where the part of `buf` that may still become the kernel's warning line starts (len(buf):
    nothing to hold); that part waits for its newline, so the line is dropped whole."""
    line_start = buf.rfind(b"\n") + 1
    for at in range(line_start, len(buf)):
        if buf[at:at + 1] == b"[" and (KERNEL_WARNING.startswith(buf[at:]) or buf[at:].startswith(KERNEL_WARNING)):
            return at
    return len(buf)


def _forward_stderr(pipe: int, once_file: Path | None) -> None:
    """Copy the child's stderr to ours as it comes (progress bars' carriage returns included),
    keeping the kernel's TCP warning only while `once_file` does not exist (then creating it);
    without `once_file` the warning passes every time. Reads to the end even when our stderr is
    gone, so the child never blocks on a full pipe."""
    def once(match):
        if once_file.exists():
            return b""
        once_file.touch()
        return match.group(0)

    buf, out_ok = b"", True
    while True:
        chunk = os.read(pipe, 65536)
        buf += chunk
        cut = _held_from(buf) if chunk else len(buf)
        ready, buf = buf[:cut], buf[cut:]
        if once_file is not None:
            ready = _KERNEL_WARNING_LINE.sub(once, ready)
        while ready and out_ok:
            try:
                ready = ready[os.write(2, ready):]
            except OSError:                       # our stderr closed: keep draining, show nothing
                out_ok = False
        if not chunk:
            os.close(pipe)
            return


def run_in_group(cmd: list[str], warn_once: str | Path | None = None) -> int:
    """Run `cmd` in its own process group; end it (and its descendants) when this process gets
    SIGINT/SIGTERM/SIGHUP or when the process that started this one dies (even by kill -9).
    Its stderr passes through this process (see _forward_stderr: papermill's progress bar then
    shows even on a terminal that reports no width, and the kernel warning once per `warn_once`)."""
    parent = os.getppid()
    # a /dev/fd/N argument (bash process substitution, e.g. run_all.sh's papermill --stderr-file
    # >(cat >&2)) names a descriptor this process inherited: keep it open in the child
    fds = [int(a[8:]) for a in cmd if a.startswith("/dev/fd/") and a[8:].isdigit()]
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(cmd, start_new_session=True, pass_fds=fds, stderr=write_end)
    os.close(write_end)
    forward = threading.Thread(target=_forward_stderr, daemon=True,
                               args=(read_end, Path(warn_once) if warn_once else None))
    forward.start()

    def stop(signum, _frame=None):
        # once: a second signal (run_all.sh's TERM after the terminal's INT, `timeout` signalling the
        # whole group) must not interrupt the clean-up, nor raise SystemExit in interpreter shutdown
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        _end_tree(proc)
        sys.stderr.flush()
        os._exit(128 + signum)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, stop)
    while True:
        try:
            status = proc.wait(timeout=0.5)
            for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(s, signal.SIG_IGN)             # the child is done: nothing left to stop
            forward.join(timeout=5)     # the rest of its stderr (a lingering grandchild may hold the pipe)
            return status
        except subprocess.TimeoutExpired:
            if os.getppid() != parent:            # run_all.sh is gone: so is its notebook
                print(f"sgenlib.provenance: the runner (pid {parent}) died; stopping {' '.join(cmd[:4])} ...",
                      file=sys.stderr)
                stop(signal.SIGHUP)

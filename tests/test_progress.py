"""What a person running ./run_all.sh sees while a model trains: plain progress lines on stderr
(papermill forwards the notebooks' stderr to the terminal, see run_all.sh)."""
import re

import numpy as np

from sgenlib.train import TrainConfig, train


def test_training_prints_progress_lines_to_stderr(tmp_path, capsys):
    images = np.random.default_rng(0).integers(0, 256, size=(4, 1, 218, 178), dtype=np.uint8)
    c = TrainConfig(model="SGEN-MSE", steps=3, batch_size=2, width=0.0625, ckpt_every=3, log_every=1,
                    scales=[[128, 96]])
    train(c, images, tmp_path / "on", progress=True)
    err = capsys.readouterr().err
    lines = re.findall(r"\[train SGEN-MSE\] step (\d+)/3 loss [\d.]+ \d+ img/s", err)
    assert lines[0] == "1" and lines[-1] == "3", err  # the first log point, then at least every 10 s, and the end
    train(c, images, tmp_path / "off", progress=False)
    assert "[train" not in capsys.readouterr().err


def test_run_all_forwards_notebook_stderr():
    from conftest import REPO
    text = (REPO / "run_all.sh").read_text()
    call = text[text.index("-m papermill"):]
    call = call[:call.index("; then")]
    assert "--stderr-file" in call


def test_notebook_stderr_reaches_the_terminal_through_the_stage_runner(tmp_path):
    """run_all.sh runs papermill under `python -m sgenlib.provenance run` with --stderr-file
    >(cat >&2): the runner must keep that /dev/fd/N open for its child, or every notebook that
    writes to stderr (the trainer's progress) fails with "Could not open file '/dev/fd/63'"."""
    import subprocess
    import sys
    from conftest import REPO
    child = f"{sys.executable} -c \"import sys; open(sys.argv[1], 'w').write('progress line')\""
    script = f"{sys.executable} -m sgenlib.provenance run -- {child} >(cat >&2); wait"
    proc = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "progress line" in proc.stderr


def test_kit_loops_print_lines_under_run_all(monkeypatch, capsys):
    """run_all.sh sets SGEN_PROGRESS=lines: a start line, a line at least every `every` seconds,
    an end line with the time; elsewhere a tqdm bar (no lines)."""
    import time
    from sgenlib.progress import progress
    monkeypatch.setenv("SGEN_PROGRESS", "lines")
    assert list(progress(range(3), "eval X", unit="scales")) == [0, 1, 2]
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "[eval X] 0/3 scales" and re.fullmatch(r"\[eval X\] 3/3 scales done in [\d.]+ s", err[-1])
    for _ in progress(range(2), "slow", every=0.01):
        time.sleep(0.02)
    assert re.search(r"\[slow\] 1/2 it, [\d.]+ s", capsys.readouterr().err)
    monkeypatch.delenv("SGEN_PROGRESS")
    assert list(progress([1, 2], "bar")) == [1, 2] and "[bar]" not in capsys.readouterr().err
    assert list(progress([1], "off", disable=True)) == [1]


def test_stage_runner_shows_the_kernel_warning_once(tmp_path):
    """The stage runner forwards its child's stderr and keeps ipykernel's TCP warning only the first
    time for one --warn-once file (run_all.sh: one per run)."""
    import subprocess
    import sys
    from conftest import REPO
    from sgenlib.procgroup import KERNEL_WARNING, _held_from
    child = tmp_path / "child.py"
    child.write_text("import sys\n"
                     f"w = {KERNEL_WARNING.decode()!r} + '. Use IPC transport.'\n"
                     "sys.stderr.write('\\rbar 1/4 [00:01<?]' + w + '\\nline\\n' + w + '\\n')\n")
    once = tmp_path / "shown"
    outs = [subprocess.run([sys.executable, "-m", "sgenlib.provenance", "run", "--warn-once", str(once), "--",
                            sys.executable, str(child)], cwd=REPO, capture_output=True, timeout=60,
                           env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}).stderr.decode() for _ in range(2)]
    assert outs[0].count("without encryption") == 1 and "\rbar 1/4 [00:01<?]" in outs[0] and "line\n" in outs[0]
    assert "without encryption" not in outs[1] and outs[1] == "\rbar 1/4 [00:01<?]line\n"
    assert _held_from(b"ok\n[IPKernel") == 3 and _held_from(b"\rbar [00:01]") == len(b"\rbar [00:01]")


def test_progress_bars_show_on_a_terminal_that_reports_no_width(tmp_path):
    """Under `script` (a pseudo-terminal of 0 columns) tqdm drew nothing; through the stage runner the
    child's stderr is a pipe, so papermill's cell bar (a tqdm bar) reaches the terminal."""
    import os
    import pty
    import subprocess
    import sys
    from conftest import REPO
    child = tmp_path / "bar.py"
    child.write_text("from tqdm import tqdm\nfor _ in tqdm(range(3), desc='Executing', unit='cell'):\n    pass\n")
    master, slave = pty.openpty()                  # a new pty reports 0 rows and 0 columns
    try:
        proc = subprocess.run([sys.executable, "-m", "sgenlib.provenance", "run", "--", sys.executable, str(child)],
                              cwd=REPO, stdout=slave, stderr=slave, timeout=60,
                              env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:                            # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0 and b"Executing: 100%" in seen and b"3/3" in seen, seen


def test_terminal_silence_reads_a_script_recording(tmp_path):
    """scripts/terminal_silence.py: the longest gaps of a `script --log-timing` recording, either format."""
    from conftest import load_script
    mod = load_script("scripts/terminal_silence.py")
    (tmp_path / "run.log").write_bytes(b"Script started on x\n== 02_sgen\n[train] step 1\r\n   done\n")
    (tmp_path / "classic.tm").write_text("0.5 11\n12.0 16\n2.0 8\n")
    (tmp_path / "advanced.tm").write_text("H 0.0 TERM xterm\nO 0.5 11\nI 3.0 1\nO 9.0 16\nO 2.0 8\n")
    for timing in ("classic.tm", "advanced.tm"):
        gaps = mod.silences(tmp_path / timing, tmp_path / "run.log")
        assert gaps[0] == (12.0, 0.5, "== 02_sgen", "[train] step 1"), gaps
        assert [g[0] for g in gaps] == [12.0, 2.0, 0.5]

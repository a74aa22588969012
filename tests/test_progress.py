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

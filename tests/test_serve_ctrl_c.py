"""`python -m sts_tools serve` stops on Ctrl-C sent the moment its banner says
"Ctrl-C stops.", even started as a background job (SIGINT ignored until it says
otherwise): the handlers are in place before the banner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.support import CONTRACT_ENV, ROOT, free_port


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell's background job starts


def test_ctrl_c_right_after_the_banner_stops_serve():
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT_ENV}
    command = [sys.executable, "-m", "sts_tools", "serve", "--no-playground"]
    command += ["--port", str(free_port()), "--cos-port", str(free_port())]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, preexec_fn=ignore_sigint,  # noqa: PLW1509 (no threads here yet)
    )  # fmt: skip
    try:
        banner = []
        for line in process.stdout:
            banner.append(line)
            if "Ctrl-C stops." in line:
                process.send_signal(signal.SIGINT)
                break
        rest, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert "Ctrl-C stops." in "".join(banner), "".join(banner)
    assert "stopped" in rest

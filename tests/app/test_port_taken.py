"""`make run` on a port already taken says so and stops, instead of serving on the next port in silence while the
old console still answers on 8501 (.streamlit/config.toml sets the port, which makes Streamlit refuse)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_taken_port_is_an_error_not_a_move_to_the_next_one() -> None:
    taken = socket.socket()
    try:
        taken.bind(("127.0.0.1", 8501))
        taken.listen()
    except OSError:
        pass  # something already listens on 8501: taken all the same
    try:
        done = subprocess.run(
            [sys.executable, "-m", "streamlit", "run", "serve.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        taken.close()
    assert done.returncode != 0
    assert "Port 8501 is not available" in done.stdout + done.stderr

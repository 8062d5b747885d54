"""A moto server in a subprocess: the real S3-compatible HTTP endpoint the tests talk to. It is
the same server ``make run`` embeds (``rivalscope_local.endpoint``), printing ``HOST:PORT``."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class MotoServer:
    def __init__(self, port: int = 0) -> None:
        self._requested_port = port
        self._proc: subprocess.Popen[str] | None = None
        self.endpoint = ""

    def start(self) -> MotoServer:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rivalscope_local.endpoint",
                "127.0.0.1",
                str(self._requested_port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert self._proc.stdout is not None
        address = self._proc.stdout.readline().strip()
        if not address:
            raise RuntimeError("moto server did not start")
        self.endpoint = f"http://{address}"
        self._requested_port = int(address.rsplit(":", 1)[1])
        return self

    @property
    def port(self) -> int:
        return self._requested_port

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()  # else a ResourceWarning (an error here) at teardown
            self._proc = None

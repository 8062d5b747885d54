"""An embedded S3/SQS-compatible endpoint: moto's server mode in its own process on loopback.

A subprocess (not a thread) so that the crawl, the worker and the commands all reach it over real
HTTP through botocore's ``AWS_ENDPOINT_URL``, exactly as they reach AWS, and so that stopping it
frees all of its memory. It prints ``HOST:PORT`` once it listens (Scrapy's mockserver pattern).
moto keeps its state in memory only: :mod:`rivalscope_local.persistence` mirrors it to disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import urllib.request
from typing import TYPE_CHECKING, Self

import boto3

from rivalscope_core.s3 import make_s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

#: credentials and region for the local endpoint: moto accepts any, and real ones never leave
#: this machine because every client of the local loop is pointed at the loopback endpoint.
LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class EndpointError(RuntimeError):
    """The local endpoint could not be started."""


class LocalEndpoint:
    """Start with :meth:`start`, stop with :meth:`stop` (or use it as a context manager)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 60.0) -> Self:
        env = {**os.environ, **LOCAL_AWS_ENV}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "rivalscope_local.endpoint", self._host, str(self._port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            # its own process group: a Ctrl-C in the terminal reaches only our run, which then
            # stops the endpoint after the last sync to disk (see run.py)
            start_new_session=True,
        )
        address = _read_line(self._proc, timeout)
        if not address:
            self.stop()
            raise EndpointError("the local S3/SQS endpoint (moto server) did not start")
        self.url = f"http://{address}"
        return self

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def s3(self) -> S3Client:
        return make_s3_client(
            endpoint_url=self.url,
            region_name=LOCAL_AWS_ENV["AWS_DEFAULT_REGION"],
            aws_access_key_id=LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    def sqs(self) -> SQSClient:
        return boto3.client(
            "sqs",
            endpoint_url=self.url,
            region_name=LOCAL_AWS_ENV["AWS_DEFAULT_REGION"],
            aws_access_key_id=LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    def reset(self) -> None:
        """Wipe all state (``POST /moto-api/reset``)."""
        url = f"{self.url}/moto-api/reset"
        request = urllib.request.Request(url, method="POST")  # noqa: S310 - our loopback endpoint
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - our loopback endpoint
            pass

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> Self:
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The first stdout line of ``proc``, or "" when it does not come within ``timeout``."""
    stdout = proc.stdout
    assert stdout is not None
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0].strip() if result else ""


def serve(host: str, port: int) -> None:
    """Run moto's threaded server until SIGTERM/SIGINT; print ``HOST:PORT`` once listening."""
    from moto.server import ThreadedMotoServer  # heavy import: server side only

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    print(f"{bound_host}:{bound_port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()
    # an orphaned endpoint (its run was killed with SIGKILL) stops by itself
    while not stop.wait(1.0):
        if os.getppid() != parent:
            break
    server.stop()


if __name__ == "__main__":
    serve(
        sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1",
        int(sys.argv[2]) if len(sys.argv) > 2 else 0,
    )

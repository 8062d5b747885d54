"""A loopback TCP forwarder that can be switched "down", to make a real endpoint (moto) fail.

While down, new connections are accepted and closed at once (botocore sees the connection
dropped) and open connections are cut, so pooled keep-alive connections fail too; ``refused``
counts the connections turned away, which tells a test that its client really tried.
``latency`` (seconds) delays every piece of data the client sends: a slow endpoint.
``lose_answers`` (a count) makes that many ``PUT`` requests reach the endpoint whole while their
answers are dropped and the connection cut (``answers_lost`` counts them): a response lost
after the endpoint acted on the request.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._up = True
        self._closed = False
        self.refused = 0
        self.latency = 0.0
        self.lose_answers = 0
        self.answers_lost = 0
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    def down(self) -> None:
        with self._lock:
            self._up = False
            connections, self._open = self._open, set()
        for conn in connections:
            _close(conn)

    def up(self) -> None:
        with self._lock:
            self._up = True

    def stop(self) -> None:
        self._closed = True
        self.down()
        _close(self._listener)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                up = self._up
                if not up:
                    self.refused += 1
            if not up:
                _close(client)
                continue
            threading.Thread(target=self._forward, args=(client,), daemon=True).start()

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._target, timeout=5)
        except OSError:
            _close(client)
            return
        with self._lock:
            if not self._up:
                _close(client)
                _close(upstream)
                return
            self._open.update((client, upstream))
        pumps = selectors.DefaultSelector()
        pumps.register(client, selectors.EVENT_READ, upstream)
        pumps.register(upstream, selectors.EVENT_READ, client)
        losing = False  # this connection's PUT goes through, its answer does not come back
        try:
            while True:
                for key, _ in pumps.select(timeout=0.5):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    if key.fileobj is client:
                        if data.startswith(b"PUT ") and not losing:
                            losing = self._take_lost_answer()
                        if self.latency:
                            time.sleep(self.latency)
                    elif losing and not data.startswith(b"HTTP/1.1 100 "):
                        with self._lock:
                            self.answers_lost += 1
                        return  # the endpoint answered; the client never hears it
                    key.data.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            pumps.close()
            with self._lock:
                self._open.discard(client)
                self._open.discard(upstream)
            _close(client)
            _close(upstream)

    def _take_lost_answer(self) -> bool:
        with self._lock:
            if self.lose_answers <= 0:
                return False
            self.lose_answers -= 1
            return True


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()

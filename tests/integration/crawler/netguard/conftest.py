"""Real servers for the private-address guard's tests: two loopback sites (one exempted, one
not: the "internal service" that must never be reached), TCP echo servers for CONNECT
tunnels, a small HTTP/1.1 server for bodies and chunked replies, and a headless Chromium
whose every connection goes through a GuardProxy."""

from __future__ import annotations

import datetime
import socket
import socketserver
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crawler.browser.config import SeleniumConfig
from crawler.browser.session import BrowserSession
from crawler.netguard.policy import AddressPolicy
from crawler.netguard.proxy import GuardProxy
from tests.project_settings import project_settings
from tests.servers.site import SITE_ROOT, SiteServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from PIL import Image
    from selenium import webdriver

GUARD_ROOT = SITE_ROOT / "guard"
SECRET_TEXT = "SECRET-TEXT-internal-service-7f3a"
CONTROL_TEXT = "CONTROL-TEXT-reached-through-the-guard"
SECRET_RED = (255, 0, 0)
CONTROL_GREEN = (0, 192, 0)


def pixels_near(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels of ``image`` are within ``tolerance`` of ``colour`` on every channel."""
    rgb = image.convert("RGB")
    # an RGB image's colours are (count, (r, g, b)) pairs
    histogram = cast(
        "list[tuple[int, tuple[int, int, int]]]",
        rgb.getcolors(maxcolors=rgb.width * rgb.height) or [],
    )
    return sum(
        count
        for count, pixel in histogram
        if all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))
    )


class EchoServer:
    """A TCP server on loopback that echoes what it receives and counts connections."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.connections = 0
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer.connections += 1
                while data := self.request.recv(65536):
                    self.request.sendall(data)

        self._server = socketserver.ThreadingTCPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> EchoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _BodyHandler(BaseHTTPRequestHandler):
    """POST /echo answers the request body; GET /chunked answers in three chunks."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Seen-Host", self.headers.get("Host", ""))
        self.end_headers()
        for part in (b"first,", b"second,", b"third"):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture(scope="module")
def exempt_site() -> Iterator[SiteServer]:
    server = SiteServer(root=GUARD_ROOT).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def secret_site() -> Iterator[SiteServer]:
    """The internal service: a loopback port no exemption covers. Its secret text is
    readable cross-origin, so any leak would show in the page."""
    server = SiteServer(root=GUARD_ROOT).start()
    secret = (SECRET_TEXT + "\n").encode()
    server.route(
        "/secret.txt",
        lambda _h: (
            200,
            {"Content-Type": "text/plain", "Access-Control-Allow-Origin": "*"},
            secret,
        ),
    )
    yield server
    server.stop()


@pytest.fixture
def secret(secret_site: SiteServer) -> SiteServer:
    secret_site.clear_log()
    return secret_site


@pytest.fixture
def guarded_page(exempt_site: SiteServer, secret: SiteServer) -> str:
    """The embedding page, served by the exempted site, pointing at the secret server."""
    html = (GUARD_ROOT / "page.html").read_text().replace("SECRET_ORIGIN", secret.url(""))
    exempt_site.route("/guarded.html", lambda _h: (200, {}, html.encode()))
    return exempt_site.url("/guarded.html")


def _self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (Scrapy does not verify certificates)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteServer]:
    """The guard's site over https, on another loopback port (reached by CONNECT)."""
    cert, key = _self_signed_cert(tmp_path_factory.mktemp("tls"))
    server = SiteServer(root=GUARD_ROOT)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = server._httpd
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def body_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _BodyHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer().start()
    yield server
    server.stop()


@pytest.fixture
def other_echo() -> Iterator[EchoServer]:
    server = EchoServer().start()
    yield server
    server.stop()


class UdpListener:
    """Counts datagrams arriving on a loopback UDP port (WebRTC's STUN goes over UDP)."""

    def __init__(self) -> None:
        self.datagrams = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self._running = True
        self._thread = threading.Thread(target=self._listen, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def _listen(self) -> None:
        while self._running:
            try:
                self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            self.datagrams += 1

    def start(self) -> UdpListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        self._thread.join()
        self._sock.close()


@pytest.fixture
def udp_listener() -> Iterator[UdpListener]:
    listener = UdpListener().start()
    yield listener
    listener.stop()


def webrtc_page(site: SiteServer, udp_port: int) -> str:
    """A page of ``site`` whose WebRTC asks a STUN server on a loopback UDP port; the title
    gathers the ICE candidate types, and "done" when gathering ends."""
    html = f"""<!doctype html><html><head><title>rtc</title></head><body><script>
      const pc = new RTCPeerConnection({{iceServers: [{{urls: "stun:127.0.0.1:{udp_port}"}}]}});
      pc.createDataChannel("probe");
      const mark = (word) => {{ document.title += " " + word; }};
      pc.onicecandidate = (e) => mark(e.candidate ? e.candidate.type : "done");
      pc.createOffer().then((offer) => pc.setLocalDescription(offer));
    </script></body></html>"""
    site.route("/webrtc.html", lambda _h: (200, {}, html.encode()))
    return site.url("/webrtc.html")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def browser_proxy(exempt_site: SiteServer) -> Iterator[GuardProxy]:
    """The guard the browser goes through: only the exempted site's host:port is allowed."""
    proxy = GuardProxy(AddressPolicy.from_entries([exempt_site.netloc]))
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture(
    scope="module",
    params=["/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium"],
    ids=["headless-shell", "full-chromium"],
)
def browser(
    browser_proxy: GuardProxy, request: pytest.FixtureRequest
) -> Iterator[webdriver.Chrome]:
    """The crawler's own browser (flags, prefs, proxy), as the pool starts it: the default
    headless shell, and the full Chromium that SELENIUM_BROWSER_PATH may name instead."""
    settings = project_settings(SELENIUM_BROWSER_PATH=request.param)
    config = SeleniumConfig.from_settings(settings).with_proxy(browser_proxy.address)
    session = BrowserSession.start(config)
    try:
        yield session.driver
    finally:
        session.quit()

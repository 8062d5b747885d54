"""The crawl benchmark's workload: six generated competitor sites served on loopback.

Each site is one host (127.0.0.2 … 127.0.0.7, its own port) because Scrapy keys its downloader
slots by host: six sites on one IP would be one slot, and one-request-per-site politeness would
serialise the whole benchmark. Pages are realistic in what costs a renderer time: text-heavy
pricing pages 3–9k px tall, an image-heavy gallery (JPEGs made with Pillow at start, not
committed), content inserted by JavaScript after a fetch that answers 150 ms late, and a lazy
image further down than Chromium's ~5,000 px look-ahead.

Every block has a fixed CSS height, so each page's full height is known in advance
(``Page.expected_height``): a screenshot shorter than that missed the bottom of the page or the
late JavaScript block. Generation is deterministic for a seed.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFilter

from rivalscope_local.static_site import SiteServer, answer

if TYPE_CHECKING:
    from rivalscope_local.static_site import Route

SITE_COUNT = 6
PAGES_PER_SITE = 10
JS_BLOCK_HEIGHT = 400
JS_FETCH_DELAY = 0.15
_HEADER = 140
_FOOTER = 160
_IMAGE_COUNT = 8
_ROBOTS = b"User-agent: *\nAllow: /\n"
LAZY_IMAGE = "/img/lazy.png"

_WORDS = (
    "plan", "seats", "usage", "billing", "annual", "monthly", "team", "enterprise", "support",
    "uptime", "api", "export", "integration", "workflow", "dashboard", "analytics", "storage",
    "limit", "overage", "invoice", "discount", "trial", "onboarding", "security", "compliance",
    "audit", "sso", "retention", "backup", "region", "latency", "priority", "unlimited",
    "standard", "premium", "starter", "growth", "scale", "custom", "contract", "renewal",
    "migration",
)  # fmt: skip
_JAPANESE = "料金プランはチームの規模と利用量に応じて選べます。年払いで二か月分お得です。"


@dataclass(frozen=True)
class Page:
    path: str
    kind: str
    html: bytes
    expected_height: int  # CSS px of the complete page, the late JavaScript block included


@dataclass(frozen=True)
class Site:
    index: int
    host: str
    pages: tuple[Page, ...]


@dataclass(frozen=True)
class Workload:
    sites: tuple[Site, ...]
    images: dict[str, bytes] = field(repr=False)

    @property
    def page_count(self) -> int:
        return sum(len(site.pages) for site in self.sites)


def build_workload(
    pages: int = SITE_COUNT * PAGES_PER_SITE, seed: int = 0, *, scroll_listener: bool = False
) -> Workload:
    """``pages`` pages spread evenly over six sites (the first sites get one more if uneven).
    ``scroll_listener``: every page registers a passive scroll listener that does nothing, as a
    scroll-depth tracker or a sticky header does on many real sites, so that no page gives
    ``SELENIUM_SCROLL_LAZY=auto`` a reason to skip the scroll-through (its worst case)."""
    if pages < 1:
        raise ValueError("pages must be at least 1")
    per_site = [
        pages // SITE_COUNT + (1 if i < pages % SITE_COUNT else 0) for i in range(SITE_COUNT)
    ]
    sites = tuple(
        Site(
            index=i,
            host=f"127.0.0.{i + 2}",
            pages=tuple(_page(i, n, seed, scroll_listener) for n in range(count)),
        )
        for i, count in enumerate(per_site)
        if count
    )
    return Workload(sites=sites, images=_images(seed))


def _page(site: int, number: int, seed: int, scroll_listener: bool) -> Page:
    rng = random.Random(f"{seed}/{site}/{number}")
    kind = _KINDS[number % len(_KINDS)]
    path = "/" if number == 0 else f"/{kind}/{number}.html"
    blocks, height = _BUILDERS[kind](rng, site)
    if scroll_listener:
        blocks.append(_SCROLL_LISTENER)
    html = _document(f"Site {site + 1} — {kind} {number}", site, blocks, late_js=kind != "gallery")
    late = JS_BLOCK_HEIGHT if kind != "gallery" else 0
    return Page(path, kind, html.encode(), _HEADER + height + late + _FOOTER)


def _text(rng: random.Random, words: int) -> str:
    chosen = rng.choices(_WORDS, k=words)
    sentences, start = [], 0
    while start < words:
        end = min(words, start + rng.randint(8, 20))
        sentences.append(" ".join(chosen[start:end]).capitalize() + ".")
        start = end
    return " ".join(sentences)


def _block(height: int, inner: str, css: str = "") -> str:
    return f'<section style="height:{height}px;{css}">{inner}</section>'


def _pricing(rng: random.Random, site: int) -> tuple[list[str], int]:
    sections = rng.randint(5, 14)  # 3,000–9,000 px with header, footer and the late block
    blocks, height = [], 0
    for n in range(sections):
        tiers = "".join(
            f"<td><h3>{name}</h3><p class=price>${rng.randint(5, 400)}/mo</p>"
            f"<p>{_text(rng, 40)}</p></td>"
            for name in ("Starter", "Growth", "Scale", "Enterprise")
        )
        jp = f"<p lang=ja>{_JAPANESE}</p>" if site == 5 else ""
        inner = (
            f"<h2>Plans {n + 1}</h2><table><tr>{tiers}</tr></table>{jp}<p>{_text(rng, 300)}</p>"
        )
        blocks.append(_block(560, inner))
        height += 560
    return blocks, height


def _gallery(rng: random.Random, site: int) -> tuple[list[str], int]:
    rows = 18  # 3 images a row, 54 images, ~5,400 px
    blocks = []
    for row in range(rows):
        cells = "".join(
            f'<figure><img src="/img/{rng.randrange(_IMAGE_COUNT)}.jpg" width=400 height=250 '
            f'alt="product {row * 3 + c}"><figcaption>{_text(rng, 8)}</figcaption></figure>'
            for c in range(3)
        )
        blocks.append(_block(300, cells, "display:flex;gap:16px"))
    return blocks, rows * 300


def _lazy(rng: random.Random, site: int) -> tuple[list[str], int]:
    blocks, height = _pricing(random.Random(rng.random()), site)
    filler = max(0, 6500 - height)  # the lazy image sits beyond Chromium's 5,000 px look-ahead
    blocks.append(_block(filler, f"<p>{_text(rng, 200)}</p>"))
    blocks.append(
        _block(520, f'<img loading="lazy" src="{LAZY_IMAGE}" width=1200 height=500 alt="map">')
    )
    return blocks, height + filler + 520


def _article(rng: random.Random, site: int) -> tuple[list[str], int]:
    count = rng.randint(6, 10)
    blocks = [
        _block(400, f"<h2>Question {n + 1}</h2><p>{_text(rng, 350)}</p>") for n in range(count)
    ]
    hero = _block(300, f'<img src="/img/{rng.randrange(_IMAGE_COUNT)}.jpg" width=480 height=300>')
    return [hero, *blocks], 300 + 400 * count


_BUILDERS = {
    "home": _article,
    "pricing": _pricing,
    "gallery": _gallery,
    "lazy": _lazy,
    "faq": _article,
}
# Ten pages a site: five pricing pages, a gallery, a lazy-image page, a home page and two FAQs.
_KINDS: tuple[str, ...] = ("home", "pricing", "pricing", "gallery", "pricing", "faq")
_KINDS = (*_KINDS, "pricing", "lazy", "pricing", "faq")

_STYLE = (
    "body{margin:0;font:16px/1.5 sans-serif;color:#222}"
    "header,footer,section{box-sizing:border-box;overflow:hidden;padding:8px 40px}"
    "header{height:140px;background:#234;color:#fff}footer{height:160px;background:#eee}"
    "table{width:100%;border-collapse:collapse}td{vertical-align:top;border:1px solid #ccc;"
    "padding:8px}.price{font-size:28px;font-weight:bold}figure{margin:0;width:400px}"
    "#offers{height:400px;background:#fde;box-sizing:border-box;overflow:hidden;padding:20px}"
)
_SCROLL_LISTENER = "<script>addEventListener('scroll', () => {}, {passive: true});</script>"
_LATE_JS = (
    "<div id=late></div><script>fetch('/api/offers.json').then(r=>r.json()).then(d=>{"
    "const s=document.createElement('section');s.id='offers';"
    "s.innerHTML='<h2>'+d.title+'</h2>'+d.items.map(i=>'<p>'+i+'</p>').join('');"
    "document.getElementById('late').replaceWith(s);});</script>"
)


def _document(title: str, site: int, blocks: list[str], *, late_js: bool) -> str:
    nav = " | ".join(
        f'<a href="/pricing/{n}.html" style="color:#fff">Plans {n}</a>' for n in (1, 2)
    )
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title>"
        f"<style>{_STYLE}</style></head><body><header><h1>Competitor {site + 1}</h1>{nav}"
        f"</header>{''.join(blocks)}{_LATE_JS if late_js else ''}"
        f"<footer>© Competitor {site + 1}</footer></body></html>"
    )


def _images(seed: int) -> dict[str, bytes]:
    """Photo-like JPEGs (blurred noise over gradients) and a PNG for the lazy image."""
    rng = random.Random(seed)
    images = {}
    size = (640, 400)
    gradient = Image.linear_gradient("L").resize(size)
    for n in range(_IMAGE_COUNT):
        noise = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
        noise = noise.filter(ImageFilter.GaussianBlur(1.5))
        image = Image.merge("RGB", (gradient, noise, gradient.rotate(90 * n, expand=False)))
        ImageDraw.Draw(image).text((20, 20), f"product {n}", fill=(255, 255, 255))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        images[f"/img/{n}.jpg"] = buffer.getvalue()
    lazy = Image.new("RGB", (1200, 500), (255, 0, 128))
    buffer = io.BytesIO()
    lazy.save(buffer, "PNG")
    images[LAZY_IMAGE] = buffer.getvalue()
    return images


def _offers(site: Site) -> Route:
    """The slow API of the late JavaScript block: it answers after the load event."""
    items = ",".join(f'"Offer {n}: {n * 10}% off annual plans"' for n in range(1, 6))
    body = f'{{"title":"Offers on {site.host}","items":[{items}]}}'.encode()
    return answer(body, "application/json", delay=JS_FETCH_DELAY)


class WorkloadServers:
    """Serves every site of a workload from threads of this process, each on its own host, with
    the project's one static-site server (``rivalscope_local.static_site``): pages, images, the
    slow API and robots.txt as routes, 404 for anything else, cacheable for an hour."""

    def __init__(self, workload: Workload) -> None:
        self.workload = workload
        self._servers: list[tuple[Site, SiteServer]] = []

    def start(self) -> WorkloadServers:
        for site in self.workload.sites:
            server = SiteServer(host=site.host, cache_control="max-age=3600")
            for page in site.pages:
                server.route(page.path, answer(page.html))
            for path, image in self.workload.images.items():
                kind = "image/png" if path.endswith(".png") else "image/jpeg"
                server.route(path, answer(image, kind))
            server.route("/api/offers.json", _offers(site))
            server.route("/robots.txt", answer(_ROBOTS, "text/plain"))
            self._servers.append((site, server.start()))
        return self

    def stop(self) -> None:
        for _site, server in self._servers:
            server.stop()

    def clear_logs(self) -> None:
        for _site, server in self._servers:
            server.clear_log()

    def lazy_images(self) -> tuple[int, int]:
        """(sites whose lazy image was fetched since ``clear_logs``, sites with a lazy page)."""
        expected = [
            server for site, server in self._servers if any(p.kind == "lazy" for p in site.pages)
        ]
        fetched = [server for server in expected if LAZY_IMAGE in server.paths()]
        return len(fetched), len(expected)

    @property
    def netlocs(self) -> list[str]:
        return [server.netloc for _site, server in self._servers]

    def urls(self) -> list[tuple[str, Page]]:
        """Every page URL, interleaved across sites (as a URL list of competitors would be)."""
        per_site = [
            [(server.url(page.path), page) for page in site.pages]
            for site, server in self._servers
        ]
        longest = max(len(pages) for pages in per_site)
        return [pages[n] for n in range(longest) for pages in per_site if n < len(pages)]


def describe(workload: Workload) -> str:
    heights = sorted(p.expected_height for s in workload.sites for p in s.pages)
    sizes = sorted(len(p.html) for s in workload.sites for p in s.pages)
    mid = len(heights) // 2
    return (
        f"{workload.page_count} pages on {len(workload.sites)} sites; height "
        f"{heights[0]}–{heights[-1]} px (median {heights[mid]}); HTML median "
        f"{math.ceil(sizes[mid] / 1024)} KB; {len(workload.images)} images "
        f"({math.ceil(sum(map(len, workload.images.values())) / 1024)} KB)"
    )

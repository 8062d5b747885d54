"""Bodies of real-looking answers, shared by the render tests and the crawl tests: a small
valid PDF and a catalogue page of several megabytes."""

from __future__ import annotations

import json


def pdf() -> bytes:
    """A small valid one-page PDF (a full Chromium opens it in its viewer)."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R/Resources<</Font"
        + b"<</F1 5 0 R>>>>>>",
        b"<</Length 44>>stream\nBT /F1 24 Tf 20 60 Td (Price list) Tj ET\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def big_page() -> bytes:
    """A catalogue of about 6.5 MB, built like real heavy pages: an inline JSON state (as
    Next.js and Nuxt ship it, half the bytes) and 3,000 product cards of text."""
    state = json.dumps(
        {"products": [{"id": n, "name": f"Product {n}", "blurb": "x" * 1000} for n in range(3000)]}
    )
    cards = "".join(
        f"<article><h3>Product {n}</h3><p>{n % 97 + 1}.99 EUR, in stock. "
        + "A sturdy, well reviewed product for teams of every size. " * 18
        + "</p></article>"
        for n in range(3000)
    )
    return (
        "<html><head><title>Big catalogue</title></head><body>"
        f'<script id="state" type="application/json">{state}</script>{cards}'
        "<p id='end'>End of catalogue</p></body></html>"
    ).encode()

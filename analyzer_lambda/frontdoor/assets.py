"""The ``make serve`` page's files (``page/``), served with the headers that keep it safe: a
Content-Security-Policy as strict as report.html's — its own script and style only, nothing
inline, no frames, requests to this origin (the API) only — and no referrer, so a presigned
URL never leaks in one."""

from __future__ import annotations

from importlib import resources

from analyzer_lambda.frontdoor.http import Response

ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/page.js": ("page.js", "text/javascript; charset=utf-8"),
    "/page.css": ("page.css", "text/css; charset=utf-8"),
}
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def asset(path: str) -> Response:
    name, content_type = ASSETS[path]
    body = resources.files("analyzer_lambda.frontdoor").joinpath("page", name).read_bytes()
    return Response(
        200,
        body,
        {
            "content-type": content_type,
            "content-security-policy": PAGE_CSP,
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "cache-control": "no-cache",
        },
    )

"""Which site a URL belongs to, for "follow same-site links" and per-site page budgets.

A site is the registrable domain (``www.example.co.uk`` → ``example.co.uk``), found with
tldextract's bundled public-suffix snapshot only: a crawler must never download the list at run
time. Hosts without a registrable domain (IP addresses, ``localhost``) are their own site,
port included.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

import tldextract


@cache
def _extractor() -> tldextract.TLDExtract:
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def site_of(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    domain = _extractor()(host).top_domain_under_public_suffix
    return domain or parts.netloc.lower()

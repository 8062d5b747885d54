"""Technologies a page reveals: the ``generator`` meta tag and well-known signatures in script
and stylesheet URLs, inline scripts and markup (Wappalyzer's approach, with a small list).

Signatures are matched against one haystack of the page's asset URLs, inline script text (the
first few KB each) and a few markers from the markup, so one pass finds them all."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer_lambda.extraction.document import Document

# name → alternatives; "marker:" and "generator:" entries come from _haystack().
_SIGNATURE_PARTS: dict[str, tuple[str, ...]] = {
    "Google Tag Manager": (
        r"googletagmanager\.com/gtm\.js",
        r"\bGTM-[A-Z0-9]{4,}",
    ),
    "Google Analytics": (
        r"google-analytics\.com/(?:analytics|ga)\.js",
        r"googletagmanager\.com/gtag/js",
        r"\bgtag\(\s*.config",
    ),
    "HubSpot": (
        r"js\.hs-scripts\.com",
        r"js\.hsforms\.net",
        r"js\.hs-analytics\.net",
        r"js\.hubspot\.com",
    ),
    "Intercom": (
        r"widget\.intercom\.io",
        r"js\.intercomcdn\.com",
        r"intercomSettings",
    ),
    "Stripe": (r"js\.stripe\.com",),
    "Shopify": (
        r"cdn\.shopify\.com",
        r"Shopify\.theme",
        r"myshopify\.com",
    ),
    "WordPress": (
        r"/wp-content/",
        r"/wp-includes/",
        r"generator: wordpress",
    ),
    "Next.js": (
        r"marker:__next_data__",
        r"/_next/static/",
    ),
    "Nuxt": (
        r"window\.__NUXT__",
        r"/_nuxt/",
        r"marker:__nuxt",
    ),
    "React": (
        r"react(?:-dom)?(?:\.production)?(?:\.min)?\.js",
        r"marker:data-reactroot",
        r"marker:__next_data__",
        r"marker:___gatsby",
    ),
    "Vue": (
        r"vue(?:\.runtime)?(?:\.global)?(?:\.prod)?(?:\.min)?\.js",
        r"marker:data-v-",
        r"window\.__NUXT__",
        r"/_nuxt/",
        r"marker:__nuxt",
    ),
    "Gatsby": (
        r"marker:___gatsby",
        r"/page-data/app-data\.json",
        r"generator: gatsby",
    ),
    "Segment": (
        r"cdn\.segment\.com",
        r"segment\.io/analytics",
    ),
    "Hotjar": (
        r"static\.hotjar\.com",
        r"\b_hjSettings\b",
    ),
    "Cloudflare": (
        r"/cdn-cgi/",
        r"static\.cloudflareinsights\.com",
    ),
    "jQuery": (
        r"jquery(?:[.-]\d[\w.]*)?(?:\.min)?\.js",
        r"code\.jquery\.com",
    ),
    "Bootstrap": (r"bootstrap(?:\.bundle)?(?:\.min)?\.(?:js|css)",),
    "Tailwind CSS": (
        r"tailwind(?:css)?[\w.-]*\.(?:js|css)",
        r"cdn\.tailwindcss\.com",
        r"marker:tailwind",
    ),
    "Webflow": (
        r"webflow\.(?:js|com)",
        r"generator: webflow",
    ),
    "Wix": (
        r"static\.parastorage\.com",
        r"static\.wixstatic\.com",
        r"generator: wix",
    ),
    "Squarespace": (
        r"static1\.squarespace\.com",
        r"generator: squarespace",
    ),
    "Drupal": (
        r"/sites/default/files/",
        r"drupal\.js",
        r"generator: drupal",
    ),
    "Marketo": (
        r"munchkin\.marketo\.net",
        r"marketo\.com/js/forms",
    ),
    "Zendesk": (
        r"static\.zdassets\.com",
        r"zendesk\.com/embeddable",
    ),
    "Drift": (
        r"js\.driftt\.com",
        r"drift\.com/include",
    ),
    "Optimizely": (r"cdn\.optimizely\.com",),
    "Meta Pixel": (
        r"connect\.facebook\.net/\S*?/fbevents\.js",
        r"\bfbq\(\s*.init",
    ),
    "LinkedIn Insight": (r"snap\.licdn\.com",),
    "Google Fonts": (r"fonts\.googleapis\.com",),
    "reCAPTCHA": (
        r"google\.com/recaptcha",
        r"gstatic\.com/recaptcha",
    ),
    "Vercel": (
        r"/_vercel/insights",
        r"vercel-insights",
        r"marker:vercel",
    ),
}
_SIGNATURES = {
    name: re.compile("|".join(parts), re.IGNORECASE) for name, parts in _SIGNATURE_PARTS.items()
}

# Tailwind leaves no asset URL when compiled: recognise its utility classes instead.
_TAILWIND_CLASS = re.compile(
    r"^(?:(?:sm|md|lg|xl|2xl|hover|focus|dark):)*-?(?:p[xytrbl]?|m[xytrbl]?|text|bg|rounded|"
    r"gap|space-[xy]|w|h|min-h|max-w|font|shadow|border|leading|tracking|grid-cols|col-span|"
    r"items|justify|inset|top|left|z)-[\w./\[\]#%-]+$"
)
_RESPONSIVE = re.compile(r"^(?:sm|md|lg|xl|2xl):")
MIN_TAILWIND_CLASSES = 15
_INLINE_SCRIPT_BYTES = 4000


def _uses_tailwind(doc: Document) -> bool:
    """At least ``MIN_TAILWIND_CLASSES`` distinct utility classes, some responsive (``md:``):
    a hand-written stylesheet rarely looks like that."""
    classes = {c for value in doc.elements("//@class") for c in str(value).split()}
    utilities = {c for c in classes if _TAILWIND_CLASS.match(c)}
    return len(utilities) >= MIN_TAILWIND_CLASSES and any(_RESPONSIVE.match(c) for c in utilities)


def _generator(doc: Document) -> str | None:
    values = doc.elements(
        "//meta[translate(@name, 'GENERATOR', 'generator')='generator']/@content"
    )
    return str(values[0]).strip() if values else None


def _haystack(doc: Document, generator: str | None) -> str:
    parts = [str(u) for u in doc.elements("//script/@src | //link/@href | //img/@src | //a/@href")]
    parts += [str(s)[:_INLINE_SCRIPT_BYTES] for s in doc.elements("//script[not(@src)]/text()")]
    if doc.elements("//*[@id='__NEXT_DATA__' or @id='__next']"):
        parts.append("marker:__next_data__")
    if doc.elements("//*[@id='__nuxt' or @id='__layout']"):
        parts.append("marker:__nuxt")
    if doc.elements("//*[@id='___gatsby']"):
        parts.append("marker:___gatsby")
    if doc.elements("//*[@data-reactroot]"):
        parts.append("marker:data-reactroot")
    if any(a.startswith("data-v-") for el in doc.elements("//body//*[@*]") for a in el.attrib):
        parts.append("marker:data-v-")
    if _uses_tailwind(doc):
        parts.append("marker:tailwind")
    if generator:
        parts.append(f"generator: {generator}")
    return "\n".join(parts)


def find_technologies(doc: Document) -> list[str]:
    """Names of detected technologies, sorted; the generator's own text (``WordPress 6.5``) is
    kept as an entry when no signature names it."""
    generator = _generator(doc)
    haystack = _haystack(doc, generator)
    found = {name for name, pattern in _SIGNATURES.items() if pattern.search(haystack)}
    if generator and not any(name.lower() in generator.lower() for name in found):
        found.add(generator)
    return sorted(found, key=str.lower)

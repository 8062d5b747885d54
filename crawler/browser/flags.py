"""Every command-line flag and preference rivalscope starts Chromium with, in one place: the
browser's own (``CHROMIUM_FLAGS``) and those that hold it to the private-address guard's proxy
(``guard_proxy_arguments``, ``CHROMIUM_PREFS``). ``session.chromium_options`` applies them."""

from __future__ import annotations

# Flags verified offline as root in a container with Debian's Chromium 156: no sandbox, no GPU, no
# background traffic that would leave the guard proxy or phone home, and no crashpad handler
# (Debian enables it; its process detaches from the browser and would outlive a crawl).
CHROMIUM_FLAGS = (
    # For a full Chromium at SELENIUM_BROWSER_PATH; chrome-headless-shell (the default) is
    # headless only and ignores it.
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
    "--disable-crash-reporter",
    # A reused full Chromium must not keep a renderer per site it has visited: the back/forward
    # cache keeps each left page alive (19 renderers, 559 MB for a pool of 2 on the 6-site
    # benchmark; 4 renderers, 239 MB without it), and a spare renderer is kept warm for a next
    # site. (The headless shell keeps neither.) chromedriver merges its own --disable-features
    # into this list.
    "--disable-features=BackForwardCache,SpareRendererForSitePerProcess",
    # The display compositor in the browser process, not a GPU process of its own (issue #16;
    # bench/RESULTS.md, "Capture and browser processes"): no process whose base memory and
    # bitmap copies come on top, peak PSS lower in every measured round.
    "--in-process-gpu",
    # The network service in the browser process: one process fewer per browser (~40 MB PSS).
    "--enable-features=NetworkServiceInProcess2",
    # The headless shell makes no new window for window.open or target=_blank at all; a full
    # Chromium's pop-up blocker is on (session.chromium_options) and the pool closes any window
    # that still opens (issue #11).
    "--block-new-web-contents",
    # The renderer inside the browser process, and no zygote to fork one from (issue #16;
    # bench/RESULTS.md, "Chromium switches for CPU and memory"): CPU 0.58 vs 0.635 s/page
    # (0.91x, lower in 11 of 12 rounds), at +34 MB peak PSS (618 vs 584 MB): the browser keeps
    # what a left site's renderer process would have returned, flat over 200 pages. Without
    # --no-zygote an unused zygote stays (+77 MB in all). A renderer crash now takes the
    # browser down: the page is tried again in a fresh one, as for any crash (crash_retry.py).
    "--single-process",
    "--no-zygote",
    # Text, measured per font family (bench/RESULTS.md): web fonts and named families
    # (Arial, Times New Roman, the default) draw the same bytes as before; text in a generic
    # family (sans-serif, serif, monospace, system-ui) is drawn with other advances, and its
    # lines may wrap elsewhere: the changes step then sees such a page changed once, on the
    # first crawl after this flag. --font-render-hinting=slight fixes those and breaks the
    # others; no single switch keeps all.
)

# Chromium preferences the guard needs besides the proxy: WebRTC sends STUN over UDP straight
# to any address a page names, around any HTTP proxy (measured: 5 packets reached a loopback
# port); this policy keeps WebRTC to proxied TCP. The headless shell has no preference store
# (2 datagrams leaked with the preference alone), so guard_proxy_arguments also forces the policy
# by switch.
CHROMIUM_PREFS = {"webrtc.ip_handling_policy": "disable_non_proxied_udp"}


def guard_proxy_arguments(address: str) -> list[str]:
    """The flags that send all of Chromium's traffic through the proxy at ``address``;
    ``<-loopback>`` stops Chromium from sending loopback traffic around it."""
    return [
        f"--proxy-server=http://{address}",
        "--proxy-bypass-list=<-loopback>",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    ]

"""Hiding cookie-consent overlays before the screenshot (``SELENIUM_HIDE_CONSENT``).

A banner over the page is the same on every site and hides what the analysis is about. We never
click "accept" (that would consent on the user's behalf and change what the site serves); we
only hide, for the screenshot, well-known consent-manager containers and fixed or sticky
elements that name cookies or consent in their id, class, aria-label or text. The recorded HTML
is taken before this runs, so it stays the page as served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

# Containers of common consent managers (OneTrust, Cookiebot, Osano, Usercentrics, Didomi,
# Quantcast, TrustArc, Sourcepoint, CookieYes, Complianz, Iubenda, Borlabs, ...).
CMP_SELECTORS = (
    "#onetrust-banner-sdk",
    "#onetrust-consent-sdk",
    ".onetrust-pc-dark-filter",
    ".cc-window",
    ".cc-banner",
    "#CybotCookiebotDialog",
    "#CybotCookiebotDialogBodyUnderlay",
    "#usercentrics-root",
    "#didomi-host",
    ".qc-cmp2-container",
    "#truste-consent-track",
    ".truste_overlay",
    "[id^='sp_message_container']",
    ".osano-cm-window",
    "#iubenda-cs-banner",
    "#cookiescript_injected",
    ".cky-consent-container",
    ".cky-overlay",
    ".cmplz-cookiebanner",
    "#BorlabsCookieBox",
    "#cookie-law-info-bar",
    "#hs-eu-cookie-confirmation",
    ".fc-consent-root",
    "#cmpbox",
    "#cmpbox2",
)

_HIDE = """
const selectors = arguments[0];
const named = /cookie|consent|gdpr|onetrust|cookiebot|didomi|usercentrics|trustarc/i;
const spoken = /cookie|consent|gdpr|datenschutz|クッキー|同意/i;
let hidden = 0;
const hide = (el) => { el.style.setProperty('display', 'none', 'important'); hidden++; };
for (const selector of selectors) {
  for (const el of document.querySelectorAll(selector)) hide(el);
}
for (const el of document.querySelectorAll('body *')) {
  const position = getComputedStyle(el).position;
  if (position !== 'fixed' && position !== 'sticky') continue;
  const cls = typeof el.className === 'string' ? el.className : '';
  const label = `${el.id} ${cls} ${el.getAttribute('aria-label') || ''}`;
  const text = (el.innerText || '');
  if (named.test(label) || (text.length < 3000 && spoken.test(text))) hide(el);
}
if (hidden) {
  // Consent walls often lock scrolling; the full-page capture needs the page to flow.
  for (const el of [document.documentElement, document.body]) {
    if (el && getComputedStyle(el).overflow === 'hidden') {
      el.style.setProperty('overflow', 'visible', 'important');
    }
  }
}
return hidden;
"""


def hide_consent_overlays(driver: WebDriver) -> int:
    """Hide consent overlays; returns how many elements were hidden."""
    return int(driver.execute_script(_HIDE, list(CMP_SELECTORS)) or 0)

"""JavaScript the render flow runs in the page. Kept apart so the flow reads as Python."""

from __future__ import annotations

# Installed before any page script (Page.addScriptToEvaluateOnNewDocument): counts the work in
# flight that will change the page, keeps the ids of pending short timers (<= 1 s, the usual "show
# it a moment after load"), and remembers when the DOM last changed, so the settle step can stop
# as soon as the page is quiet instead of sleeping a fixed time (a fixed 500 ms cost a third of the
# throughput on the crawl benchmark, and with no wait at all 6 of 60 pages were captured before
# their late content grew). Attribute changes are ignored: carousels and animations change
# attributes forever and would always use up the whole SELENIUM_SETTLE_TIMEOUT.
# What counts as in flight (``state.pending``), so that the quiet window after it only has to
# cover gaps the tracker cannot see (issue #16, bench/RESULTS.md "A settle that knows the page is
# done"): a fetch until a macrotask after its answer (the headers), a body read (json, text, ...)
# until a macrotask after the body arrived, an XHR until a macrotask after loadend, a
# requestAnimationFrame asked for outside a frame callback until it ran (an animation loop asks
# from inside one: only its first frame is awaited), and an image loaded off the page until it
# loaded. "A macrotask after" lets the callbacks the answer starts run first (the page's
# .then(render), microtasks). A timer shorter than FOLLOW_MS started meanwhile (while anything
# is in flight, or inside a short timer's or an awaited frame's callback) is followed
# (``state.followed``): the settle waits for it even when it was started after the settle
# began. FOLLOW_MS is the quiet window this replaced (150 ms): a loop of timers shorter than
# that kept the page busy past any window before, so following it costs nothing new, and a
# slower loop (a countdown ticking every second) is never followed.
ACTIVITY_TRACKER = """
(() => {
  if (window.__rivalscope) return;
  const state = window.__rivalscope = {pending: 0, last: performance.now()};
  const touch = () => { state.last = performance.now(); };
  const FOLLOW_MS = 150;
  const setTimer = state.setTimeout = window.setTimeout.bind(window);
  const clearTimer = window.clearTimeout.bind(window);
  const hold = () => { state.pending++; touch(); };
  const release = () => { setTimer(() => { state.pending--; touch(); }, 0); };
  let inCallback = 0;  // > 0 while a short timer's or an awaited frame's callback runs
  const held = (promise) => {
    hold();
    promise.then(release, release);
    return promise;
  };
  const originalFetch = window.fetch;
  if (originalFetch) {
    window.fetch = function (...args) { return held(originalFetch.apply(this, args)); };
  }
  if (window.Response) {
    for (const name of ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text']) {
      const read = Response.prototype[name];
      if (typeof read !== 'function') continue;
      Response.prototype[name] = function (...args) { return held(read.apply(this, args)); };
    }
  }
  const timers = state.timers = new Set();
  const followed = state.followed = new Set();
  window.setTimeout = function (callback, delay, ...rest) {
    if (typeof callback !== 'function' || !((delay || 0) <= 1000)) {
      return setTimer(callback, delay, ...rest);
    }
    const follow = (delay || 0) < FOLLOW_MS && (inCallback > 0 || state.pending > 0);
    const id = setTimer(function (...args) {
      timers.delete(id); followed.delete(id); touch();
      inCallback++;
      try { return callback.apply(this, args); } finally { inCallback--; }
    }, delay, ...rest);
    timers.add(id);
    if (follow) followed.add(id);
    return id;
  };
  window.clearTimeout = function (id) {
    timers.delete(id); followed.delete(id); return clearTimer(id);
  };
  const frame = window.requestAnimationFrame;
  const cancelFrame = window.cancelAnimationFrame;
  if (frame && cancelFrame) {
    const frames = new Set();
    let inFrame = 0;
    window.requestAnimationFrame = function (callback) {
      if (typeof callback !== 'function' || inFrame > 0) return frame.call(window, callback);
      hold();
      const id = frame.call(window, (time) => {
        frames.delete(id); inFrame++; inCallback++;
        try { return callback(time); } finally { inFrame--; inCallback--; release(); }
      });
      frames.add(id);
      return id;
    };
    window.cancelAnimationFrame = function (id) {
      if (frames.delete(id)) { state.pending--; touch(); }
      return cancelFrame.call(window, id);
    };
  }
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    hold();
    this.addEventListener('loadend', release, {once: true});
    try {
      return send.apply(this, args);
    } catch (error) {
      release();  // not sent (not opened): no loadend will come
      throw error;
    }
  };
  // An image loaded off the page (new Image(), then its onload inserts it or draws it): held
  // until it loaded or failed. An image on the page is the settle's own check (it has a layout
  // box); a lazy one is left alone, it may never load.
  const source = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, 'src');
  if (source && source.set) {
    const loading = new WeakSet();
    Object.defineProperty(HTMLImageElement.prototype, 'src', {...source, set(value) {
      if (!this.isConnected && this.loading !== 'lazy' && !loading.has(this)) {
        loading.add(this);
        hold();
        const done = () => {
          if (!loading.delete(this)) return;
          for (const type of ['load', 'error', 'abort']) this.removeEventListener(type, done);
          release();
        };
        for (const type of ['load', 'error', 'abort']) this.addEventListener(type, done);
      }
      return source.set.call(this, value);
    }});
  }
  new MutationObserver(touch).observe(document, {subtree: true, childList: true,
                                                 characterData: true});
  // Dialogs are answered as a person who clicks them away would: alert() returns, confirm()
  // is declined (we never agree to anything on the user's behalf, as with consent banners),
  // prompt() is cancelled. An open dialog would block the page and fail every WebDriver
  // command (issue #11); chromedriver's own "dismiss" stays as the net for frames this script
  // does not reach.
  window.alert = function () {};
  window.confirm = function () { return false; };
  window.prompt = function () { return null; };
  window.print = function () {};
  // "Leave this page?" is never asked when the crawler moves on: our listener comes first and
  // stops the page's own beforeunload listeners.
  window.addEventListener('beforeunload', (event) => { event.stopImmediatePropagation(); }, true);
  // Every shadow root a script attaches, closed ones included, so the snapshot can serialise
  // what a person sees inside them.
  const roots = state.roots = [];
  const attachShadow = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (...args) {
    const root = attachShadow.apply(this, args);
    roots.push(root);
    return root;
  };
})();
"""

# Installed right after ACTIVITY_TRACKER (issue #16): what on this page could load more of it
# when the page is scrolled, so that SELENIUM_SCROLL_LAZY=auto scrolls only such pages. Noted
# from document start: scroll/scrollend listeners (window, document or any element, through
# EventTarget.addEventListener, and onscroll handlers set as properties), and the targets of
# every IntersectionObserver. Wheel, touch and resize listeners are counted but decide nothing:
# the scroll-through (window.scrollTo) fires none of them, so a loader that waits for them loads
# the same with or without it. ``state.lazyReasons()`` answers, at the moment it is asked, why a
# scroll is needed (empty: it is not):
# - "scroll-listener": a scroll or scrollend listener, or an onscroll handler (property or
#   attribute); "intersection-observer": an observed element that is connected and reaches
#   below the first screen (a sticky-header sentinel at the top does not count);
# - "loading-lazy": an img with loading=lazy that has a layout box and is not loaded yet
#   (Chromium loads those within ~5,000 px by itself), or any iframe with loading=lazy;
# - "content-visibility": an element with content-visibility:auto was seen
#   (contentvisibilityautostatechange, fired once for each such element as it is laid out);
# - "lazy-marker": below the first screen, an element carrying the markup of a lazy loader
#   (data-src, data-srcset, data-original, data-bg, data-background-image, data-lazy*, or a
#   class containing "lazy"). This is the net for loaders that poll (requestAnimationFrame or
#   setInterval reading getBoundingClientRect) and register nothing the tracker sees. None of
#   lazysizes, lozad, vanilla-lazyload or jQuery Lazy Load polls in a current browser:
#   lazysizes listens to scroll (capture) plus a MutationObserver, and falls back to
#   setInterval only without MutationObserver; lozad and vanilla-lazyload use an
#   IntersectionObserver (vanilla-lazyload also native loading=lazy); jQuery Lazy Load 1.x
#   binds scroll on its container (bench/RESULTS.md, "The scroll-through").
LAZY_TRACKER = """
(() => {
  const state = window.__rivalscope;
  if (!state || state.lazy) return;
  const lazy = state.lazy = {scroll: 0, other: 0, observed: [], contentVisibility: false};
  const addListener = EventTarget.prototype.addEventListener;
  const scrollTypes = new Set(['scroll', 'scrollend']);
  const otherTypes = new Set(['wheel', 'mousewheel', 'touchmove', 'resize']);
  EventTarget.prototype.addEventListener = function (type, ...rest) {
    if (scrollTypes.has(type)) lazy.scroll++;
    else if (otherTypes.has(type)) lazy.other++;
    return addListener.call(this, type, ...rest);
  };
  const handler = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'onscroll');
  if (handler && handler.set) {
    Object.defineProperty(HTMLElement.prototype, 'onscroll', {...handler, set(value) {
      if (value) lazy.scroll++;
      return handler.set.call(this, value);
    }});
  }
  const Observer = window.IntersectionObserver;
  if (Observer) {
    const targetsOf = new WeakMap();
    const observe = Observer.prototype.observe;
    const unobserve = Observer.prototype.unobserve;
    const disconnect = Observer.prototype.disconnect;
    const targets = (observer) => {
      let set = targetsOf.get(observer);
      if (!set) { set = new Set(); targetsOf.set(observer, set); lazy.observed.push(set); }
      return set;
    };
    Observer.prototype.observe = function (target) {
      if (target) targets(this).add(target);
      return observe.call(this, target);
    };
    Observer.prototype.unobserve = function (target) {
      targets(this).delete(target);
      return unobserve.call(this, target);
    };
    Observer.prototype.disconnect = function () {
      targets(this).clear();
      return disconnect.call(this);
    };
  }
  addListener.call(window, 'contentvisibilityautostatechange', () => {
    lazy.contentVisibility = true;
  }, true);
  const MARKERS = '[data-src],[data-srcset],[data-original],[data-bg],[data-background-image],'
    + '[class*="lazy" i]';
  const belowFirstScreen = (element) => {
    const box = element.getBoundingClientRect();
    return box.height > 0 && box.bottom + window.scrollY > window.innerHeight;
  };
  state.lazyReasons = () => {
    try {
      return reasonsNow();
    } catch (error) {
      return ['error'];  // a page that broke the DOM API we use is scrolled, never failed
    }
  };
  const reasonsNow = () => {
    const reasons = [];
    if (lazy.scroll || window.onscroll || document.onscroll
        || document.querySelector('[onscroll]')) reasons.push('scroll-listener');
    const observed = () => {
      for (const set of lazy.observed) {
        for (const target of set) {
          if (target.isConnected && belowFirstScreen(target)) return true;
        }
      }
      return false;
    };
    if (observed()) reasons.push('intersection-observer');
    const pendingLazy = () => {
      if (document.querySelector('iframe[loading="lazy" i]')) return true;
      for (const img of document.querySelectorAll('img[loading="lazy" i]')) {
        if (!img.complete && img.getClientRects().length) return true;
      }
      return false;
    };
    if (pendingLazy()) reasons.push('loading-lazy');
    if (lazy.contentVisibility) reasons.push('content-visibility');
    const marked = () => {
      for (const element of document.querySelectorAll(MARKERS)) {
        if (belowFirstScreen(element)) return true;
      }
      const prefixed = document.evaluate('//*[@*[starts-with(name(), "data-lazy")]]', document,
                                         null, XPathResult.ORDERED_NODE_ITERATOR_TYPE, null);
      for (let node = prefixed.iterateNext(); node; node = prefixed.iterateNext()) {
        if (belowFirstScreen(node)) return true;
      }
      return false;
    };
    if (marked()) reasons.push('lazy-marker');
    return reasons;
  };
})();
"""

# Every script the browser runs at the start of each document, in this order.
DOCUMENT_START = ACTIVITY_TRACKER + LAZY_TRACKER

# Scrolls down one viewport at a time, then returns to the top, so IntersectionObserver-based,
# native and scroll-listener lazy loading see every part of the page. Jumps of two viewports were
# cheaper but skipped the bands between them: an observer without a root margin never fired for
# an element there (tests/data/site/render/observed.html). Each position is held for one frame
# plus arguments[1] ms (SELENIUM_SCROLL_PAUSE): loaders that throttle or debounce their scroll
# handler only look that often. Stops at arguments[0] px (the screenshot limit: infinite-scroll
# pages end somewhere) or after arguments[2] ms, whichever comes first. With arguments[3]
# (SELENIUM_SCROLL_LAZY=auto) it first asks the tracker's lazyReasons() and scrolls only when
# there is one (a page without the tracker is scrolled). Answers {scrolled, reasons}.
SCROLL_THROUGH = """
const [limit, pauseMs, budgetMs, auto] = [arguments[0], arguments[1], arguments[2],
                                          arguments[3]];
const done = arguments[arguments.length - 1];
const reasons = (window.__rivalscope && window.__rivalscope.lazyReasons)
  ? window.__rivalscope.lazyReasons() : ['no-tracker'];
if (auto && !reasons.length) {
  done({scrolled: false, reasons: reasons});
  return;
}
const step = Math.max(window.innerHeight, 200);  // SELENIUM_WINDOW_HEIGHT is at least 240
const wait = (window.__rivalscope && window.__rivalscope.setTimeout) || setTimeout;
const start = performance.now();
let y = 0;
const height = () => Math.max(document.documentElement.scrollHeight,
                              document.body ? document.body.scrollHeight : 0);
function next() {
  if (y >= Math.min(height(), limit) || performance.now() - start > budgetMs) {
    window.scrollTo(0, 0);
    requestAnimationFrame(() => done({scrolled: true, reasons: reasons}));
    return;
  }
  y += step;
  window.scrollTo(0, y);
  requestAnimationFrame(() => wait(next, pauseMs));
}
next();
"""

# Resolves true when the page is quiet: loaded, nothing the tracker counts in flight (fetch/XHR
# and their answers' callbacks, body reads, a first animation frame), none of the short timers
# pending at the start has still to fire (timers they start in turn are awaited only when the
# tracker follows them, see ACTIVITY_TRACKER: polling loops never end), no image with a layout
# box still loading (when arguments[2]), no meta
# refresh (or Refresh header, arguments[3]) of at most 1 s still due, and no DOM change for
# arguments[0] ms; false when
# arguments[1] ms (SELENIUM_SETTLE_TIMEOUT) ran out first. Never an unbounded network-idle
# wait. A navigation that a short timer or refresh starts ends this script early; the render
# flow then follows it (crawler/browser/page.py). Answers {quiet, reasons}: reasons are the
# tracker's lazyReasons() once settled, when arguments[4] asks for them (a page that was not
# scrolled may have grown lazy content while settling), else null.
SETTLE = """
const [quietMs, timeoutMs, waitImages, headerRefresh, askReasons] = [
  arguments[0], arguments[1], arguments[2], arguments[3], arguments[4]];
const done = arguments[arguments.length - 1];
const start = performance.now();
const state = window.__rivalscope || {pending: 0, last: 0, timers: new Set()};
const wait = state.setTimeout || setTimeout;
const awaited = new Set(state.timers);
// A <meta http-equiv=refresh> (or a Refresh header, arguments[3] s) due within a second of
// load is awaited like a short timer.
const refreshDue = (() => {
  const meta = document.querySelector('meta[http-equiv="refresh" i]');
  const delay = meta ? parseFloat(meta.content) : (headerRefresh === null ? NaN : headerRefresh);
  if (!(delay >= 0 && delay <= 1)) return 0;
  const navigation = performance.getEntriesByType('navigation')[0];
  return (navigation && navigation.loadEventEnd || start) + delay * 1000 + 250;
})();
const timersPending = () => {
  if (state.followed && state.followed.size) return true;
  for (const id of awaited) if (state.timers.has(id)) return true;
  return false;
};
function loadingImages() {
  if (!waitImages) return 0;
  let count = 0;
  for (const img of document.images) {
    if (!img.complete && img.getClientRects().length) count++;
  }
  return count;
}
(function check() {
  const now = performance.now();
  const quiet = document.readyState === 'complete' && state.pending <= 0
    && now - state.last >= quietMs && !timersPending() && loadingImages() === 0
    && now >= refreshDue;
  if (quiet || now - start >= timeoutMs) {
    const reasons = !askReasons ? null
      : (state.lazyReasons ? state.lazyReasons() : ['no-tracker']);
    done({quiet: quiet, reasons: reasons});
    return;
  }
  wait(check, 25);
})();
"""

# The page as a person sees it, in one round trip: its HTML with every shadow root inside
# (open ones found by walking the tree, declarative ones included, plus the closed ones the
# tracker saw attached), serialised as declarative shadow DOM (``<template shadowrootmode>``)
# by ``getHTML``; then its title and URL, read in the same turn of the event loop so that
# all three belong to the same document. ``outerHTML`` alone leaves every shadow root out.
# A page without shadow roots costs one querySelectorAll walk (a few ms on a 6 MB page).
SNAPSHOT = """
const state = window.__rivalscope || {};
const roots = [];
const seen = new Set();
const scopes = [document];
const add = (root) => {
  if (root && !seen.has(root)) { seen.add(root); roots.push(root); scopes.push(root); }
};
for (const root of state.roots || []) if (root.host && root.host.isConnected) add(root);
for (let i = 0; i < scopes.length; i++) {
  for (const element of scopes[i].querySelectorAll('*')) add(element.shadowRoot);
}
const top = document.documentElement;
let html = '';
if (top && roots.length && top.getHTML) {
  try {
    const shell = top.cloneNode(false).outerHTML;
    const end = shell.lastIndexOf('</');
    html = shell.slice(0, end) + top.getHTML({serializableShadowRoots: true, shadowRoots: roots})
      + shell.slice(end);
  } catch (error) {
    html = '';  // an engine without getHTML's options: the light DOM at least
  }
}
if (top && !html) html = top.outerHTML;
return {html: html, title: document.title, url: location.href};
"""

# The screen boxes of the elements an ``ignore_selectors`` rule names (SPEC.md, Changes), for the
# visual diff to mask: run right before the screenshot, in the same turn as nothing else, so the
# boxes are where the capture shows the elements. [x, y, w, h] in CSS px of the document (the
# viewport's rectangle + the scroll offset), rounded outwards; empty boxes (hidden elements, a
# consent banner the flow just hid) are left out; a selector the page's engine rejects is
# skipped. Where a fixed element shows depends on the capture: one full-page capture (pages up
# to 8,000 px) enlarges the viewport, so a bottom-anchored element lands at the document's
# bottom; a tiled capture paints it once, where it is in the first viewport (measured on the
# demo's 13,707 px page). Both boxes are recorded: masking a little more is harmless, missing
# it is a false change. At most
# arguments[1] boxes; returned with the document's width in CSS px, to scale them to the image.
IGNORED_BOXES = """
const [selectors, limit] = [arguments[0], arguments[1]];
const boxes = [];
const doc = document.documentElement;
const height = Math.max(doc.scrollHeight, document.body ? document.body.scrollHeight : 0);
// Fixed when the element, or the outermost of its offset parents, is position: fixed (a
// fixed element has no offset parent): one style lookup per element, not one per ancestor.
const fixed = (element) => {
  let outer = element;
  while (outer.offsetParent) outer = outer.offsetParent;
  return getComputedStyle(outer).position === 'fixed';
};
const add = (x, y, right, bottom) => {
  const box = [Math.floor(x), Math.floor(y), Math.ceil(right) - Math.floor(x),
               Math.ceil(bottom) - Math.floor(y)];
  if (box[2] > 0 && box[3] > 0 && boxes.length < limit) boxes.push(box);
};
for (const selector of selectors) {
  let elements = [];
  try { elements = document.querySelectorAll(selector); } catch (error) { continue; }
  for (const element of elements) {
    const r = element.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) continue;
    if (fixed(element)) {
      add(r.left, r.top, r.right, r.bottom);
      const fromBottom = height - window.innerHeight;
      add(r.left, r.top + fromBottom, r.right, r.bottom + fromBottom);
    } else {
      add(r.left + window.scrollX, r.top + window.scrollY,
          r.right + window.scrollX, r.bottom + window.scrollY);
    }
  }
}
return {boxes: boxes, width: doc.clientWidth};
"""

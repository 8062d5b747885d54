// Filters (competitor or site, status) and the screenshot lightbox (cards' thumbnails and the
// What changed crops). Without JavaScript the report still
// reads, and a thumbnail click opens the screenshot file itself.
(function () {
  "use strict";
  var cards = Array.prototype.slice.call(document.querySelectorAll(".card"));
  var site = document.getElementById("site-filter");
  var status = document.getElementById("status-filter");
  var shown = document.getElementById("shown");
  var empty = document.getElementById("empty");

  function apply() {
    var count = 0;
    cards.forEach(function (card) {
      var visible = (!site.value || card.dataset.site === site.value) &&
        (!status.value || card.dataset.status === status.value);
      card.hidden = !visible;
      if (visible) { count += 1; }
    });
    // a group's heading shows while one of its cards does
    Array.prototype.forEach.call(document.querySelectorAll(".group-title"), function (title) {
      title.hidden = !cards.some(function (card) {
        return !card.hidden && card.dataset.site === title.dataset.site;
      });
    });
    shown.textContent = "showing " + count + " of " + cards.length;
    empty.hidden = count !== 0;
  }
  site.addEventListener("change", apply);
  status.addEventListener("change", apply);
  Array.prototype.forEach.call(document.querySelectorAll("tr[data-site]"), function (row) {
    row.addEventListener("click", function () {
      site.value = row.dataset.site;
      apply();
      document.getElementById("pages-title").scrollIntoView({ behavior: "smooth" });
    });
  });
  apply();

  var box = document.getElementById("lightbox");
  var img = document.getElementById("lightbox-img");
  var title = document.getElementById("lightbox-title");
  var open = document.getElementById("lightbox-open");
  if (typeof box.showModal !== "function") { return; }
  Array.prototype.forEach.call(document.querySelectorAll("a.shot, a.zoomable"), function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      img.src = link.getAttribute("href");
      img.alt = link.dataset.caption || "";
      title.textContent = link.dataset.caption || "";
      open.href = link.getAttribute("href");
      box.showModal();
    });
  });
  document.getElementById("lightbox-close").addEventListener("click", function () {
    box.close();
  });
  box.addEventListener("click", function (event) {
    if (event.target === box) { box.close(); }
  });
  box.addEventListener("close", function () { img.removeAttribute("src"); });
}());

// Every page (web/templates/base.html): the facet drawer closed on a phone, the viewer's inner
// <main> made a region (one main landmark per page, WAI-ARIA landmarks), and on a TV-sized screen
// focus that moves with the arrow keys alone (a remote control's four keys and OK). No inline code (CSP).
(function () {
  "use strict";
  var phone = window.matchMedia("(max-width: 59.99rem)"), tv = window.matchMedia("(min-width: 120rem)");

  // --- the facet drawer: results first and the filters one tap away on a phone ----------------------
  if (phone.matches) {
    document.querySelectorAll("details.drawer[open]").forEach(function (d) { d.open = false; });
  }

  // --- Mirador renders its workspace as a second <main>: make it a region of the viewer ---------------
  var viewer = document.getElementById("viewer");
  if (viewer && window.MutationObserver) {
    var fix = function () {
      viewer.querySelectorAll("main:not([role])").forEach(function (m) { m.setAttribute("role", "region"); });
    };
    new MutationObserver(fix).observe(viewer, { childList: true, subtree: true });
    fix();
  }

  // --- arrow keys move focus to the nearest control in that direction (TV) --------------------------
  var FOCUSABLE = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea, " +
                  "summary, [tabindex]:not([tabindex='-1'])";
  var KEEP = "input, textarea, select, audio, video, [role=slider], [role=tab], [role=tablist], #viewer, [contenteditable]";
  function visible(el) {
    var r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden" && !el.closest("[hidden], #viewer");
  }
  function next(from, key) {
    var a = from.getBoundingClientRect(), ax = a.left + a.width / 2, ay = a.top + a.height / 2, best = null, score = Infinity;
    document.querySelectorAll(FOCUSABLE).forEach(function (el) {
      if (el === from || !visible(el)) return;
      var b = el.getBoundingClientRect(), bx = b.left + b.width / 2, by = b.top + b.height / 2, along, across;
      if (key === "ArrowDown") { along = b.top - a.bottom; across = Math.abs(bx - ax); }
      else if (key === "ArrowUp") { along = a.top - b.bottom; across = Math.abs(bx - ax); }
      else if (key === "ArrowRight") { along = b.left - a.right; across = Math.abs(by - ay); }
      else { along = a.left - b.right; across = Math.abs(by - ay); }
      if (along < -2) return; // not in that direction
      var s = Math.max(0, along) + 2 * across;
      if (s < score) { score = s; best = el; }
    });
    return best;
  }
  document.addEventListener("keydown", function (e) {
    if (!tv.matches || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    if (["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].indexOf(e.key) < 0) return;
    var from = document.activeElement;
    if (from && from !== document.body && from.closest(KEEP)) return; // the control uses the arrows itself
    var to = from && from !== document.body ? next(from, e.key) : null;
    if (!to && (!from || from === document.body)) {
      to = Array.prototype.filter.call(document.querySelectorAll(FOCUSABLE), visible)[0];
    }
    if (!to) return; // nothing that way: the page scrolls as usual
    e.preventDefault();
    to.focus();
    to.scrollIntoView({ block: "nearest", inline: "nearest" });
  });
})();

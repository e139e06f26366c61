// The item page's IIIF viewer. On a PC: Mirador 4 on the item's manifest, with its Content Search
// panel. On a phone (at most 600 px wide): OpenSeadragon alone on the pages' IIIF info.json, with
// page buttons. Each library is loaded only where it is used; without it (node_modules not
// installed, or script blocked) the page shows its plain IIIF images (the <noscript> content).
(function () {
  "use strict";
  var box = document.getElementById("viewer");
  if (!box) return;
  var page = /^#p(\d+)$/.exec(window.location.hash);  // a search hit's page: /items/<id>#p3
  var start = page ? Number(page[1]) - 1 : 0;
  // (a page without its own page images, such as the alliance viewer's, has Mirador only)
  var phone = window.matchMedia("(max-width: 600px)").matches && box.dataset.tiles && box.dataset.osd;
  // prefers-reduced-motion: zoom and pan jump instead of gliding (OpenSeadragon's animations off)
  var still = window.matchMedia("(prefers-reduced-motion: reduce)").matches
    ? { animationTime: 0, springStiffness: 100, blendTime: 0 } : {};

  function fallback() {
    var plain = box.parentNode.querySelector("noscript");
    if (plain) box.insertAdjacentHTML("afterend", plain.textContent);
    box.remove();
  }

  function load(src, then) {
    var script = document.createElement("script");
    script.src = src;
    script.onload = then;
    script.onerror = fallback;
    document.head.appendChild(script);
  }

  function mirador() {
    if (!window.Mirador) return fallback();
    window.fangzhiViewer = Mirador.viewer({
      id: "viewer",
      language: box.dataset.lang === "en" ? "en" : "zh-CN",
      windows: [{ manifestId: box.dataset.manifest, thumbnailNavigationPosition: "far-bottom", canvasIndex: start }],
      window: {
        allowClose: false, allowMaximize: false, allowFullscreen: true, hideWindowTitle: true,
        panels: { info: true, attribution: true, canvas: true, search: true, annotations: false, layers: false },
      },
      workspace: { showZoomControls: true, type: "mosaic" },
      workspaceControlPanel: { enabled: false },
      osdConfig: still,
    });
  }

  function openseadragon() {
    if (!window.OpenSeadragon) return fallback();
    var tiles = JSON.parse(box.dataset.tiles).map(function (s) { return s + "/info.json"; });
    if (!tiles.length) return fallback();
    var labels = JSON.parse(box.dataset.labels || "[]");
    var controls = document.getElementById("viewer-controls");
    var counter = document.getElementById("osd-page");
    box.classList.add("phone");
    controls.hidden = false;
    if (tiles.length < 2) {
      document.getElementById("osd-prev").hidden = document.getElementById("osd-next").hidden = true;
    }
    var viewer = window.fangzhiViewer = OpenSeadragon({
      element: box, tileSources: tiles, sequenceMode: tiles.length > 1, initialPage: Math.min(start, tiles.length - 1),
      showNavigationControl: true, showSequenceControl: true, navigationControlAnchor: OpenSeadragon.ControlAnchor.NONE,
      zoomInButton: "osd-in", zoomOutButton: "osd-out", homeButton: "osd-home",
      previousButton: "osd-prev", nextButton: "osd-next", showFullPageControl: false,
      gestureSettingsTouch: { pinchToZoom: true, flickEnabled: true }, crossOriginPolicy: false,
      animationTime: still.animationTime, springStiffness: still.springStiffness, blendTime: still.blendTime,
    });
    function show(n) {
      var label = labels[n] || {};
      var name = label[box.dataset.lang] || label.zh || Object.values(label)[0] || "";
      counter.textContent = (n + 1) + " / " + tiles.length + (name ? " · " + name : "");
    }
    viewer.addHandler("page", function (e) { show(e.page); history.replaceState(null, "", "#p" + (e.page + 1)); });
    show(Math.min(start, tiles.length - 1));
  }

  if (phone) load(box.dataset.osd, openseadragon);
  else load(box.dataset.mirador, mirador);
})();

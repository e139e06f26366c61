// The item page's IIIF viewer: Mirador 4 on the item's manifest, with its Content Search panel.
// Without Mirador (node_modules not installed) the page shows its plain images instead.
(function () {
  "use strict";
  var box = document.getElementById("viewer");
  if (!box) return;
  if (!window.Mirador) {
    var fallback = box.parentNode.querySelector("noscript");
    if (fallback) box.insertAdjacentHTML("afterend", '<div class="media pages">' + fallback.textContent + "</div>");
    box.remove();
    return;
  }
  var page = /^#p(\d+)$/.exec(window.location.hash);  // a search hit's page: /items/<id>#p3
  window.fangzhiViewer = Mirador.viewer({
    id: "viewer",
    language: box.dataset.lang === "en" ? "en" : "zh-CN",
    windows: [{ manifestId: box.dataset.manifest, thumbnailNavigationPosition: "far-bottom",
                canvasIndex: page ? Number(page[1]) - 1 : 0 }],
    window: {
      allowClose: false, allowMaximize: false, allowFullscreen: true, hideWindowTitle: true,
      panels: { info: true, attribution: true, canvas: true, search: true, annotations: false, layers: false },
    },
    workspace: { showZoomControls: true, type: "mosaic" },
    workspaceControlPanel: { enabled: false },
    // prefers-reduced-motion: zoom and pan jump instead of gliding (OpenSeadragon's animations off)
    osdConfig: window.matchMedia("(prefers-reduced-motion: reduce)").matches
      ? { animationTime: 0, springStiffness: 100, blendTime: 0 } : {},
  });
})();

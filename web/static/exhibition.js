// An exhibition's page: deep zoom on image regions, clips that stop at their end, the map of places.
// Plain script, no inline code (the CSP); everything works without it (crops, players, place list).
(function () {
  "use strict";

  function region(el) {
    return el.dataset.region.split(",").map(Number);
  }

  // Image regions: the crop is an <img>; "zoom" opens a deep-zoom view fitted to the region (IIIF Image API tiles).
  document.querySelectorAll(".zoom[data-info]").forEach(function (zoom) {
    if (!window.OpenSeadragon) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "zoom-button";
    button.textContent = zoom.dataset.label;
    button.setAttribute("aria-expanded", "false");
    zoom.after(button);
    var viewer = null, holder = null;
    button.addEventListener("click", function () {
      if (viewer) {  // close: back to the crop
        viewer.destroy(); viewer = null; holder.remove(); zoom.hidden = false;
        button.setAttribute("aria-expanded", "false");
        return;
      }
      holder = document.createElement("div");
      holder.className = "deep-zoom";
      zoom.after(holder);
      zoom.hidden = true;
      button.setAttribute("aria-expanded", "true");
      viewer = OpenSeadragon({element: holder, tileSources: zoom.dataset.info, showNavigationControl: false,
                              crossOriginPolicy: false, animationTime: matchMedia("(prefers-reduced-motion: reduce)").matches ? 0 : 1.2,
                              gestureSettingsMouse: {clickToZoom: false}});
      viewer.addHandler("open", function () {
        var r = region(zoom);
        viewer.viewport.fitBounds(viewer.viewport.imageToViewportRectangle(r[0], r[1], r[2], r[3]), true);
        var canvas = holder.querySelector(".openseadragon-canvas");
        if (canvas) { canvas.setAttribute("aria-label", zoom.dataset.label); canvas.focus(); }
      });
    });
  });

  // Clips: play from their start to their end (the media fragment #t=start,end starts them; this stops them).
  document.querySelectorAll(".block-clip audio, .block-clip video").forEach(function (media) {
    var start = Number(media.dataset.start), end = Number(media.dataset.end);
    media.addEventListener("timeupdate", function () {
      if (media.currentTime >= end) { media.pause(); }
    });
    media.addEventListener("play", function () {
      if (media.currentTime < start - 0.5 || media.currentTime >= end) { media.currentTime = start; }
    });
  });

  // Maps: Leaflet with the tiles of MAP_TILE_URL, or points on a plain background without tiles; the list stays.
  document.querySelectorAll(".map[data-places]").forEach(function (el) {
    var places = JSON.parse(el.dataset.places || "[]");
    if (!window.L || !places.length) { el.hidden = true; return; }
    var map = L.map(el, {scrollWheelZoom: false, attributionControl: Boolean(el.dataset.tiles)});
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, {attribution: el.dataset.attribution || ""}).addTo(map);
    } else {
      el.classList.add("no-tiles");
    }
    var bounds = [];
    places.forEach(function (p) {
      var link = document.createElement("a");
      link.href = p.url; link.textContent = p.title + " — " + p.name;
      L.circleMarker([p.lat, p.lon], {radius: 8}).bindPopup(link).addTo(map);
      bounds.push([p.lat, p.lon]);
    });
    if (bounds.length === 1) map.setView(bounds[0], 12); else map.fitBounds(bounds, {padding: [24, 24]});
  });
})();

// The map of an authority page (Leaflet from /vendor/leaflet/): its points, on the tiles of the
// setting MAP_TILE_URL when there is one; without tiles the markers stand on a plain background.
(function () {
  "use strict";
  var box = document.getElementById("authority-map");
  if (!box || !window.L) { return; }
  var points = JSON.parse(box.getAttribute("data-points") || "[]");
  if (!points.length) { return; }
  L.Icon.Default.imagePath = box.getAttribute("data-icons") || "/vendor/leaflet/images/";
  var map = L.map(box, { scrollWheelZoom: false, attributionControl: true });
  var tiles = box.getAttribute("data-tiles");
  if (tiles) { L.tileLayer(tiles, { maxZoom: 18, attribution: box.getAttribute("data-attribution") || "" }).addTo(map); }
  var bounds = [];
  points.forEach(function (p) {
    var marker = L.marker([p.lat, p.lng], { title: p.label, alt: p.label }).addTo(map);
    var label = document.createElement(p.url ? "a" : "span");
    label.textContent = p.label;
    if (p.url) { label.href = p.url; }
    marker.bindPopup(label);
    bounds.push([p.lat, p.lng]);
  });
  if (bounds.length === 1) { map.setView(bounds[0], 9); } else { map.fitBounds(bounds, { padding: [24, 24], maxZoom: 10 }); }
})();

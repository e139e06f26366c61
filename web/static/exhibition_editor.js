// The exhibition editor: choose an image region by drawing a box on the image (OpenSeadragon on the
// IIIF Image API). The box is written as "x,y,w,h" in full-image pixels into the region field, which
// keyboard users can also type; the field and the box follow each other.
(function () {
  "use strict";
  if (!window.OpenSeadragon) return;

  document.querySelectorAll(".region-picker").forEach(function (picker) {
    var itemInput = document.getElementById(picker.dataset.item);
    var fileInput = document.getElementById(picker.dataset.file);
    var target = document.getElementById(picker.dataset.target);
    var note = document.createElement("p");
    note.className = "hint";
    var toggle = document.createElement("button");
    toggle.type = "button";
    var holder = document.createElement("div");
    holder.className = "picker-view";
    var box = document.createElement("div");
    box.className = "region-box";
    box.hidden = true;
    picker.append(note, toggle, holder);
    var viewer = null, drawing = true, start = null, size = null;

    function info() {
      var item = itemInput.value.trim(), file = fileInput ? fileInput.value.trim() : "";
      return item ? "/iiif/3/" + encodeURIComponent(item) + (file ? "~" + encodeURIComponent(file) : "") + "/info.json" : null;
    }
    function setMode(draw) {
      drawing = draw;
      toggle.textContent = draw ? picker.dataset.pan : picker.dataset.draw;
      toggle.setAttribute("aria-pressed", String(!draw));
      if (viewer) viewer.setMouseNavEnabled(!draw);
      holder.classList.toggle("drawing", draw);
    }
    function point(event) {
      var rect = holder.getBoundingClientRect();
      return new OpenSeadragon.Point(event.clientX - rect.left, event.clientY - rect.top);
    }
    function toImage(p) {
      var q = viewer.viewport.viewerElementToImageCoordinates(p);
      return [Math.max(0, Math.min(size.x, Math.round(q.x))), Math.max(0, Math.min(size.y, Math.round(q.y)))];
    }
    function place(a, b) {  // the box between two element points
      box.hidden = false;
      box.style.left = Math.min(a.x, b.x) + "px"; box.style.top = Math.min(a.y, b.y) + "px";
      box.style.width = Math.abs(a.x - b.x) + "px"; box.style.height = Math.abs(a.y - b.y) + "px";
    }
    function showStored() {
      var r = target.value.split(",").map(Number);
      if (!viewer || r.length !== 4 || r.some(isNaN)) { box.hidden = true; return; }
      var a = viewer.viewport.imageToViewerElementCoordinates(new OpenSeadragon.Point(r[0], r[1]));
      var b = viewer.viewport.imageToViewerElementCoordinates(new OpenSeadragon.Point(r[0] + r[2], r[1] + r[3]));
      place(a, b);
    }
    function open() {
      var url = info();
      if (viewer) { viewer.destroy(); viewer = null; }
      holder.replaceChildren();
      note.textContent = url ? "" : picker.dataset.empty;
      toggle.hidden = !url;
      if (!url) return;
      viewer = OpenSeadragon({element: holder, tileSources: url, showNavigationControl: false, animationTime: 0.3,
                              gestureSettingsMouse: {clickToZoom: false}});
      holder.append(box);
      viewer.addHandler("open", function () {
        size = viewer.world.getItemAt(0).getContentSize();
        picker.dataset.ready = "true";
        setMode(drawing);
        showStored();
      });
      viewer.addHandler("animation", showStored);
    }

    holder.addEventListener("pointerdown", function (event) {
      if (!drawing || !viewer || !size) return;
      event.preventDefault(); event.stopPropagation();
      start = point(event);
      holder.setPointerCapture(event.pointerId);
      place(start, start);
    }, true);
    holder.addEventListener("pointermove", function (event) {
      if (start) { event.stopPropagation(); place(start, point(event)); }
    }, true);
    holder.addEventListener("pointerup", function (event) {
      if (!start) return;
      event.stopPropagation();
      var a = toImage(start), b = toImage(point(event));
      start = null;
      var w = Math.abs(a[0] - b[0]), h = Math.abs(a[1] - b[1]);
      if (w < 1 || h < 1) { showStored(); return; }
      target.value = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), w, h].join(",");
      target.dispatchEvent(new Event("change", {bubbles: true}));
      showStored();
    }, true);
    toggle.addEventListener("click", function () { setMode(!drawing); });
    itemInput.addEventListener("change", open);
    if (fileInput) fileInput.addEventListener("change", open);
    target.addEventListener("change", showStored);
    open();
  });
})();

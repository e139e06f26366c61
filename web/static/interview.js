// The player of an audio or video item (web/templates/interview.html): its waveform (click or
// arrow keys to seek), the transcript synced to playback (the current cues highlighted and
// scrolled into view), cues and segments that seek when clicked, ?t=seconds to start at a
// moment and a button copying a link to the current one, search within the interview
// (simplified and traditional alike, through the server's folding map), and language tabs
// (WAI-ARIA Authoring Practices, Tabs pattern). Plain script, no inline code (the CSP forbids it).
(function () {
  "use strict";
  var root = document.getElementById("av");
  if (!root) return;
  var media = root.querySelector("audio, video");
  if (!media) return;
  var data = root.dataset;

  function seek(t, play) {
    if (!(t >= 0)) return;
    if (media.readyState >= 1) media.currentTime = t;
    else media.addEventListener("loadedmetadata", function () { media.currentTime = t; }, { once: true });
    if (play) {
      var p = media.play();
      if (p && p.catch) p.catch(function () {}); // autoplay refused: the position is still set
    }
  }

  function duration() {
    return isFinite(media.duration) && media.duration > 0 ? media.duration : parseFloat(data.duration) || 0;
  }

  // --- ?t=seconds: start there (a citable moment) --------------------------------------------------
  var wanted = parseFloat(new URLSearchParams(location.search).get("t"));
  if (wanted > 0) seek(wanted, true);

  // --- clicking a cue, a segment's time or a time link seeks ------------------------------------
  root.addEventListener("click", function (e) {
    var el = e.target.closest("[data-start]");
    if (!el || !root.contains(el) || el.tagName === "DETAILS") return;
    if (el.tagName !== "A" && String(window.getSelection())) return; // selecting text, not seeking
    if (e.target.closest("a") && !e.target.closest("a").dataset.start) return; // an ordinary link
    e.preventDefault();
    seek(parseFloat(el.dataset.start), true);
  });

  // --- the transcript shown now, its cues and the segments -----------------------------------------
  var panels = Array.prototype.slice.call(root.querySelectorAll(".transcript"));
  var panel = panels[0] || null;
  var cues = [];
  function readCues() {
    cues = panel ? Array.prototype.map.call(panel.querySelectorAll(".cue"), function (el) {
      return { el: el, start: parseFloat(el.dataset.start), end: parseFloat(el.dataset.end) };
    }) : [];
  }
  readCues();
  var segments = Array.prototype.map.call(root.querySelectorAll(".segment"), function (el) {
    return { el: el, start: parseFloat(el.dataset.start), end: parseFloat(el.dataset.end) };
  });

  // the last item starting at or before t (items are in time order), if t is before its end
  function at(list, t) {
    var lo = 0, hi = list.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (list[mid].start <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found >= 0 && t < list[found].end ? list[found] : null;
  }

  // every cue playing at t: cues may overlap (two people speaking at once), so all are marked
  function playing(list, t) {
    return list.filter(function (cue) { return cue.start <= t && t < cue.end; });
  }

  var current = [], currentSegment = null;
  function mark(t) {
    var now = playing(cues, t);
    current.forEach(function (cue) {
      if (now.indexOf(cue) < 0) { cue.el.classList.remove("current"); cue.el.removeAttribute("aria-current"); }
    });
    now.forEach(function (cue) {
      if (current.indexOf(cue) < 0) { cue.el.classList.add("current"); cue.el.setAttribute("aria-current", "true"); }
    });
    if (now.length && now[0] !== current[0]) scrollInto(panel, now[0].el);
    current = now;
    var seg = at(segments, t);
    if (seg !== currentSegment) {
      if (currentSegment) currentSegment.el.classList.remove("current");
      currentSegment = seg;
      if (seg) seg.el.classList.add("current");
    }
  }

  // scroll the transcript (not the page) so that the cue is in view
  function scrollInto(box, el) {
    if (!box) return;
    var top = el.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
    var bottom = top + el.offsetHeight;
    if (top < box.scrollTop || bottom > box.scrollTop + box.clientHeight) {
      box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
  }

  media.addEventListener("timeupdate", function () { mark(media.currentTime); drawWave(); });
  media.addEventListener("seeked", function () { mark(media.currentTime); drawWave(); });

  // --- language tabs --------------------------------------------------------------------------------
  var tablist = root.querySelector("[role=tablist]");
  if (tablist) {
    var tabs = Array.prototype.slice.call(tablist.querySelectorAll("[role=tab]"));
    var select = function (tab, focus) {
      tabs.forEach(function (other) {
        var on = other === tab;
        other.setAttribute("aria-selected", on ? "true" : "false");
        other.tabIndex = on ? 0 : -1;
        document.getElementById(other.getAttribute("aria-controls")).hidden = !on;
      });
      panel = document.getElementById(tab.getAttribute("aria-controls"));
      if (focus) tab.focus();
      current = [];
      root.querySelectorAll(".cue.current").forEach(function (el) {
        el.classList.remove("current"); el.removeAttribute("aria-current");
      });
      readCues();
      mark(media.currentTime);
    };
    tablist.hidden = false;
    root.querySelectorAll(".panel-title").forEach(function (h) { h.hidden = true; });
    tablist.addEventListener("click", function (e) {
      var tab = e.target.closest("[role=tab]");
      if (tab) select(tab, false);
    });
    tablist.addEventListener("keydown", function (e) {
      var i = tabs.indexOf(document.activeElement), next = null;
      if (i < 0) return;
      if (e.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
      else if (e.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
      else if (e.key === "Home") next = tabs[0];
      else if (e.key === "End") next = tabs[tabs.length - 1];
      if (next) { e.preventDefault(); select(next, true); }
    });
    select(tabs[0], false);
  }

  // --- a link to this moment --------------------------------------------------------------------
  var copy = root.querySelector(".copy-moment"), said = root.querySelector(".moment");
  if (copy) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var url = location.origin + location.pathname + "?t=" + Math.floor(media.currentTime);
      var show = function (prefix) {
        said.textContent = prefix;
        var a = document.createElement("a");
        a.href = url; a.textContent = url;
        said.appendChild(a);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(url).then(function () { show(data.copied); },
                                                function () { show(data.copyFailed); });
      } else show(data.copyFailed);
    });
  }

  // --- search within the interview --------------------------------------------------------------------
  var find = root.querySelector(".find");
  var folds = {};
  try { folds = JSON.parse(document.getElementById("fold-map").textContent); } catch (e) { /* no map */ }
  // as search.analysis.fold: NFKC, traditional → simplified (the map), lower case
  function fold(text) {
    return Array.prototype.map.call(text.normalize("NFKC"), function (c) { return folds[c] || c; })
      .join("").toLowerCase();
  }
  if (find) {
    find.hidden = false;
    var box = find.querySelector("input"), found = find.querySelector(".found");
    box.addEventListener("input", function () {
      // each word folded, and as typed (OpenCC keeps some words whole that it would change char by char: 乾隆)
      var words = box.value.split(/\s+/).filter(Boolean).map(function (w) {
        return [fold(w), w.normalize("NFKC").toLowerCase()];
      }), shown = 0;
      var matches = function (el) {
        return words.every(function (w) { return el.dataset.fold.indexOf(w[0]) >= 0 || el.dataset.fold.indexOf(w[1]) >= 0; });
      };
      root.querySelectorAll(".cue").forEach(function (el) {
        el.hidden = words.length > 0 && !matches(el);
        if (!el.hidden && panel && panel.contains(el)) shown += 1;
      });
      segments.forEach(function (s) { s.el.hidden = words.length > 0 && !matches(s.el); });
      found.textContent = words.length ? data.found.replace("{n}", shown) : "";
    });
  }

  // --- the waveform (audiowaveform JSON: min/max pairs per pixel) -----------------------------------
  var canvas = root.querySelector("canvas.waveform"), peaks = null;
  function drawWave() {
    if (!canvas || !peaks) return;
    var ratio = window.devicePixelRatio || 1, width = canvas.clientWidth * ratio, height = canvas.clientHeight * ratio;
    if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
    var ctx = canvas.getContext("2d"), pairs = peaks.length / 2, played = duration() ? media.currentTime / duration() : 0;
    var style = getComputedStyle(canvas);
    ctx.clearRect(0, 0, width, height);
    for (var x = 0; x < width; x++) {
      var from = Math.floor(x / width * pairs), to = Math.max(from + 1, Math.floor((x + 1) / width * pairs));
      var lo = 0, hi = 0;
      for (var i = from; i < to && i < pairs; i++) {
        lo = Math.min(lo, peaks[2 * i]); hi = Math.max(hi, peaks[2 * i + 1]);
      }
      ctx.fillStyle = x / width < played ? style.color : style.borderTopColor;
      var top = height / 2 - hi / peaks.scale * height / 2, bottom = height / 2 - lo / peaks.scale * height / 2;
      ctx.fillRect(x, top, 1, Math.max(1, bottom - top));
    }
    canvas.setAttribute("aria-valuenow", Math.floor(media.currentTime));
    // read as a time, not a bare number of seconds (WAI-ARIA 1.2 aria-valuetext)
    canvas.setAttribute("aria-valuetext", clock(media.currentTime) + " / " + clock(duration()));
  }
  // as oral_history.player.stamp: m:ss, or h:mm:ss from an hour on
  function clock(seconds) {
    var s = Math.floor(seconds || 0), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, pad = function (n) {
      return (n < 10 ? "0" : "") + n;
    };
    return h ? h + ":" + pad(m) + ":" + pad(s % 60) : m + ":" + pad(s % 60);
  }
  if (canvas && data.waveform) {
    fetch(data.waveform, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (json) {
      var channels = json.channels || 1, values = json.data || [];
      peaks = [];
      for (var i = 0; i + 1 < values.length; i += 2 * channels) peaks.push(values[i], values[i + 1]);
      peaks.scale = json.bits === 16 ? 32768 : 128;
      canvas.hidden = false;
      canvas.tabIndex = 0;
      canvas.setAttribute("role", "slider");
      canvas.setAttribute("aria-label", data.waveformLabel);
      canvas.setAttribute("aria-valuemin", "0");
      canvas.setAttribute("aria-valuemax", String(Math.floor(duration())));
      canvas.setAttribute("aria-keyshortcuts", "Space");
      drawWave();
    }).catch(function () { /* no waveform: the player's own controls remain */ });
    canvas.addEventListener("click", function (e) {
      var rect = canvas.getBoundingClientRect();
      seek((e.clientX - rect.left) / rect.width * duration(), true);
    });
    canvas.addEventListener("keydown", function (e) {
      if (e.key === " " || e.key === "k") { // play or pause, as the player's own controls do
        e.preventDefault();
        if (media.paused) { var p = media.play(); if (p && p.catch) p.catch(function () {}); } else media.pause();
        return;
      }
      var step = { ArrowRight: 5, ArrowUp: 5, ArrowLeft: -5, ArrowDown: -5, PageUp: 30, PageDown: -30 }[e.key];
      if (e.key === "Home") step = -media.currentTime;
      if (e.key === "End") step = duration() - media.currentTime;
      if (step === undefined) return;
      e.preventDefault();
      seek(Math.min(duration(), Math.max(0, media.currentTime + step)), false);
    });
    window.addEventListener("resize", drawWave);
    media.addEventListener("loadedmetadata", function () {
      canvas.setAttribute("aria-valuemax", String(Math.floor(duration())));
      drawWave();
    });
  }
})();

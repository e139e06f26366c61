// Authority picker: a box marked data-authority="<kind>" suggests records by name, alias or
// pinyin (GET /api/authorities/suggest) as a listbox; choosing one (click, Enter) puts its id
// into the field named by data-target. Keyboard: ↓/↑ move, Enter chooses, Escape closes.
(function () {
  "use strict";
  function attach(input) {
    var target = input.form ? input.form.elements[input.getAttribute("data-target")] :
      document.querySelector("[name='" + input.getAttribute("data-target") + "']");
    var list = document.createElement("ul");
    var id = "authority-list-" + Math.random().toString(36).slice(2);
    list.id = id; list.setAttribute("role", "listbox"); list.hidden = true;
    input.setAttribute("role", "combobox"); input.setAttribute("aria-controls", id);
    input.setAttribute("aria-expanded", "false"); input.setAttribute("aria-autocomplete", "list");
    input.parentNode.appendChild(list);
    var records = [], active = -1, timer = null, asked = 0;
    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; }
    function choose(i) {
      var r = records[i];
      if (!r) { return; }
      if (target) { target.value = r.id; target.dispatchEvent(new Event("change", { bubbles: true })); }
      input.value = r.name;
      close();
    }
    function show() {
      list.textContent = "";
      records.forEach(function (r, i) {
        var li = document.createElement("li");
        li.id = id + "-" + i; li.setAttribute("role", "option");
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        li.textContent = r.name + (r.names.length ? "（" + r.names.slice(0, 3).join("、") + "）" : "") + " · " + r.id;
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      list.hidden = !records.length;
      input.setAttribute("aria-expanded", records.length ? "true" : "false");
      if (active >= 0) { input.setAttribute("aria-activedescendant", id + "-" + active); }
      else { input.removeAttribute("aria-activedescendant"); }
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (!q) { records = []; show(); return; }
      timer = setTimeout(function () {
        var n = ++asked, kind = input.getAttribute("data-authority");
        fetch("/api/authorities/suggest?limit=8&q=" + encodeURIComponent(q) + (kind ? "&kind=" + encodeURIComponent(kind) : ""),
              { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { records: [] }; })
          .then(function (data) { if (n === asked) { records = data.records || []; active = -1; show(); } })
          .catch(function () { records = []; show(); });
      }, 150);
    });
    input.addEventListener("keydown", function (e) {
      if (list.hidden) { return; }
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        active = (active + (e.key === "ArrowDown" ? 1 : records.length - 1)) % records.length;
        show();
      } else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(active); }
      else if (e.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }
  document.querySelectorAll("input[data-authority]").forEach(attach);
  window.attachAuthorityPicker = attach;  // item_form.js: the picker of a row added by "add a row"
})();

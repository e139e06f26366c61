// The item form, enhanced: "add a row" for repeatable fields (creators, contributors, places) and a
// live check of the EDTF date with its reign-era years. Without JavaScript the form still works:
// each fieldset has a blank row to fill, and each row a "remove" box.
"use strict";

function addRow(fieldset) {
  const key = fieldset.dataset.rows;
  const rows = fieldset.querySelectorAll(":scope > fieldset.row");
  const blank = fieldset.querySelector(":scope > fieldset.row[data-blank]") || rows[rows.length - 1];
  const next = Math.max(-1, ...Array.from(fieldset.querySelectorAll("[name^='" + key + "-']"))
    .map((el) => parseInt(el.name.split("-")[1], 10))) + 1;
  const copy = blank.cloneNode(true);
  const pattern = new RegExp("^" + key + "-\\d+-");
  for (const el of copy.querySelectorAll("[name]")) {
    el.name = el.name.replace(pattern, `${key}-${next}-`);
    if (el.tagName === "SELECT") el.selectedIndex = 0; else if (el.type === "checkbox") el.checked = false; else el.value = "";
  }
  const legend = copy.querySelector("legend");
  if (legend) legend.textContent = legend.textContent.replace(/\d+/, String(rows.length + 1));
  // an authority picker in the row: its own target, listbox and listeners (authority-picker.js)
  for (const list of copy.querySelectorAll("ul[role=listbox]")) list.remove();
  const pickers = Array.from(copy.querySelectorAll("input[data-authority]"));
  for (const el of pickers) {
    el.value = "";
    el.setAttribute("data-target", el.getAttribute("data-target").replace(pattern, `${key}-${next}-`));
  }
  fieldset.insertBefore(copy, fieldset.querySelector(":scope > button.add-row"));
  if (window.attachAuthorityPicker) pickers.forEach(window.attachAuthorityPicker);
  const first = copy.querySelector("input, textarea");
  if (first) first.focus();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const fieldset of document.querySelectorAll("fieldset.rows")) {
    const button = document.createElement("button");
    button.type = "button"; button.className = "add-row"; button.textContent = fieldset.dataset.add;
    button.addEventListener("click", () => addRow(fieldset));
    fieldset.appendChild(button);
  }
  const edtf = document.querySelector("input[data-edtf]");
  if (!edtf) return;
  const display = edtf.form.querySelector("input[name=date_display]");
  const output = document.getElementById(edtf.getAttribute("aria-describedby"));
  let timer = null;
  const check = async () => {
    const url = `${edtf.dataset.edtf}?edtf=${encodeURIComponent(edtf.value)}&display=${encodeURIComponent(display ? display.value : "")}`;
    try {
      const answer = await (await fetch(url, {credentials: "same-origin"})).json();
      edtf.setAttribute("aria-invalid", answer.ok ? "false" : "true");
      output.classList.toggle("bad", !answer.ok || Boolean(answer.mismatch));
      output.textContent = [answer.message, answer.reign].filter(Boolean).join(" · ");
    } catch (e) { /* offline: the server checks the date when the form is saved */ }
  };
  for (const input of [edtf, display].filter(Boolean)) {
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 250); });
  }
});

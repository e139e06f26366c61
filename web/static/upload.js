// Chunked, resumable uploads for the staff ingest form: each file goes up in 8 MiB chunks;
// after an interruption the server says how much it has and the upload continues from there.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const progress = document.getElementById("progress");
  const status = document.getElementById("status");
  const token = form.querySelector("input[name=csrf_token]").value;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = Array.from(document.getElementById("files").files);
    const total = files.reduce((sum, f) => sum + f.size, 0) || 1;
    let sent = 0;
    try {
      // the metadata is checked before anything is sent (a bad date fails here, not after the upload)
      const check = new FormData(form);
      check.set("mode", "one");
      check.set("paths", JSON.stringify(files.map((f, i) => ({path: `${i + 1}/${f.name}`, size: f.size}))));
      const checked = await fetch(form.dataset.preflight, {method: "POST", body: check, credentials: "same-origin",
                                                           headers: {"X-CSRFToken": token}});
      if (!checked.ok) {
        const answer = await checked.json().catch(() => ({problems: [{message: checked.statusText}]}));
        status.textContent = [form.dataset.problems, ...(answer.problems || []).map(
          (p) => p.where ? `${p.where}：${p.message}` : p.message)].join(" ");
        return;
      }
      progress.hidden = false;
      const start = await send(form.dataset.start, {method: "POST", headers: {"X-CSRFToken": token}});
      const {id} = await start.json();
      for (const [index, file] of files.entries()) {
        let offset = 0;
        while (offset < file.size || (file.size === 0 && offset === 0)) {
          const url = `${form.dataset.start}/${id}/${index}?name=${encodeURIComponent(file.name)}&offset=${offset}`;
          const response = await send(url, {method: "PUT", headers: {"X-CSRFToken": token},
                                            body: file.slice(offset, offset + CHUNK)});
          const size = (await response.json()).size;
          sent += size - offset;
          offset = size;
          progress.value = Math.round(100 * sent / total);
          status.textContent = `${file.name}: ${Math.round(100 * offset / Math.max(file.size, 1))}%`;
          if (file.size === 0) break;
        }
      }
      const finish = document.createElement("form");
      finish.method = "post";
      finish.action = `${form.dataset.start}/${id}/finish`;
      for (const [name, value] of new FormData(form).entries()) {
        const input = document.createElement("input");
        input.type = "hidden"; input.name = name; input.value = value;
        finish.appendChild(input);
      }
      document.body.appendChild(finish);
      finish.submit();
    } catch (error) {
      status.textContent = error.message;
    }
  });
});

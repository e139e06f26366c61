// Web batch ingest: check the metadata, manifest and file list first (nothing is sent until they
// are right), then send each file in 8 MiB chunks with its path in the donation; an interrupted
// batch continues where it stopped (the server answers 409 with the size it has, and the upload's
// id is kept in this browser for the same files), then the batch is planned as a job.
"use strict";

function relative(file, fromFolder) {
  // a folder's files keep their path below the chosen folder ("信件/p1.tif"), others their name
  const path = file.webkitRelativePath || file.relativePath || file.name;
  return fromFolder ? path.split("/").slice(1).join("/") || file.name : path;
}

function entriesOf(dropped) {
  // files and folders dropped on the page, with their relative paths (FileSystem API)
  const found = [];
  const walk = (entry, prefix) => new Promise((resolve) => {
    if (entry.isFile) {
      entry.file((f) => { f.relativePath = prefix + f.name; found.push(f); resolve(); }, resolve);
    } else if (entry.isDirectory) {
      const reader = entry.createReader(), all = [];
      const more = () => reader.readEntries(async (batch) => {
        if (!batch.length) { for (const e of all) await walk(e, prefix + entry.name + "/"); resolve(); return; }
        all.push(...batch); more();
      }, resolve);
      more();
    } else resolve();
  });
  return Promise.all(Array.from(dropped).map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry())
    .filter(Boolean).map((e) => walk(e, ""))).then(() => found);
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("batch-form");
  if (!form) return;
  const d = form.dataset, status = document.getElementById("status"), progress = document.getElementById("progress");
  const token = form.querySelector("input[name=csrf_token]").value;
  const chosen = document.getElementById("chosen");
  let files = [];  // [{file, path}]
  const choose = (list) => {
    files = list;
    chosen.textContent = files.length ? `${files.length} · ${files.slice(0, 3).map((f) => f.path).join("、")}${files.length > 3 ? "…" : ""}` : "";
  };
  document.getElementById("folder").addEventListener("change", (e) =>
    choose(Array.from(e.target.files).map((f) => ({file: f, path: relative(f, true)}))));
  document.getElementById("files").addEventListener("change", (e) =>
    choose(Array.from(e.target.files).map((f) => ({file: f, path: f.name}))));
  const drop = document.getElementById("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault(); drop.classList.remove("over");
    const found = await entriesOf(e.dataTransfer.items);
    const folder = found.length && found.every((f) => f.relativePath.includes("/")) &&
      new Set(found.map((f) => f.relativePath.split("/")[0])).size === 1;
    choose(found.map((f) => ({file: f, path: relative(f, folder)})));
  });
  const show = (title, problems) => {
    status.replaceChildren();
    const box = document.createElement("div");
    box.className = "problems"; box.setAttribute("role", "alert");
    const p = document.createElement("p"); p.textContent = title; box.appendChild(p);
    const ul = document.createElement("ul");
    for (const problem of problems) {
      const li = document.createElement("li");
      li.textContent = problem.where ? `${problem.where}：${problem.message}` : problem.message;
      ul.appendChild(li);
    }
    box.appendChild(ul); status.appendChild(box);
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!files.length) { show(d.none, []); return; }
    const manifest = document.getElementById("manifest").files[0];
    const data = new FormData(form);
    data.delete("manifest");
    data.set("paths", JSON.stringify(files.map((f) => ({path: f.path, size: f.file.size}))));
    if (manifest) data.set("manifest", manifest);
    status.textContent = d.checking;
    try {
      const checked = await fetch(d.preflight, {method: "POST", body: data, credentials: "same-origin",
                                                headers: {"X-CSRFToken": token}});
      const answer = await checked.json().catch(() => ({problems: [{message: checked.statusText}]}));
      if (!checked.ok) { show(d.problems, answer.problems || [answer]); return; }
      const key = "fz-batch:" + files.map((f) => `${f.path}:${f.file.size}:${f.file.lastModified}`).join("|");
      let id = localStorage.getItem(key);
      if (!id) {
        id = (await (await send(d.start, {method: "POST", headers: {"X-CSRFToken": token}})).json()).id;
        localStorage.setItem(key, id);
      }
      const total = files.reduce((sum, f) => sum + f.file.size, 0) + (manifest ? manifest.size : 0) || 1;
      let sent = 0;
      progress.hidden = false;
      const put = async (file, query) => {
        let offset = 0;
        for (;;) {
          const url = `${d.base}/${id}/files?${query}&offset=${offset}`;
          let response;
          try {
            response = await send(url, {method: "PUT", headers: {"X-CSRFToken": token},
                                        body: file.slice(offset, offset + CHUNK)});
          } catch (error) {
            if (String(error.message).includes("NOT FOUND")) localStorage.removeItem(key);
            throw error;
          }
          const size = (await response.json()).size;
          sent += size - offset; offset = size;
          progress.value = Math.round(100 * sent / total);
          status.textContent = `${d.uploading} ${decodeURIComponent(query.split("=")[1])}: ${Math.round(100 * offset / Math.max(file.size, 1))}%`;
          if (offset >= file.size) return;
        }
      };
      for (const f of files) await put(f.file, `path=${encodeURIComponent(f.path)}`);
      if (manifest) await put(manifest, `manifest=1&path=${encodeURIComponent(manifest.name)}`);
      status.textContent = d.planning;
      localStorage.removeItem(key);
      const finish = document.createElement("form");
      finish.method = "post"; finish.action = `${d.base}/${id}/batch`; finish.hidden = true;
      for (const [name, value] of new FormData(form).entries()) {
        if (name === "manifest") continue;
        const input = document.createElement("input");
        input.type = "hidden"; input.name = name; input.value = value;
        finish.appendChild(input);
      }
      document.body.appendChild(finish);
      finish.submit();
    } catch (error) {
      show(error.message, []);
    }
  });
});

// Shared by the staff upload pages (upload.js, batch.js): the chunk size of the resumable upload
// protocol (ingest/uploads.py) and a request that fails with the server's message, except 409,
// which says how much of a file the server already has.
"use strict";
const CHUNK = 8 * 1024 * 1024;

async function send(url, options) {
  const response = await fetch(url, {credentials: "same-origin", ...options});
  if (!response.ok && response.status !== 409) {
    let message = response.statusText;
    try { message = (await response.json()).message || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

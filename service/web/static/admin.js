// The admin page. The token lives in this closure only: never in localStorage, a
// cookie or the URL, so closing or reloading the tab forgets it. Everything that came
// from the server is written with textContent, never as HTML.
"use strict";

(function () {
  let token = null;
  let pollTimer = null;

  const $ = (id) => document.getElementById(id);

  function say(id, text, isError) {
    const element = $(id);
    element.textContent = text;
    element.classList.toggle("is-error", Boolean(isError));
  }

  async function call(method, url, body) {
    if (!token) {
      throw new Error("enter the admin token first");
    }
    const response = await fetch(url, {
      method,
      body,
      headers: { Authorization: "Bearer " + token },
      credentials: "omit",
      cache: "no-store",
    });
    let payload = null;
    try {
      payload = await response.json();
    } catch (error) {
      payload = null;
    }
    if (!response.ok) {
      const message = payload && payload.error ? payload.error.message : response.statusText;
      const failure = new Error(response.status + ": " + message);
      failure.status = response.status;
      throw failure;
    }
    return payload;
  }

  // A download that needs the token, which a plain link cannot send.
  async function download(url, filename) {
    if (!token) {
      throw new Error("enter the admin token first");
    }
    const response = await fetch(url, {
      headers: { Authorization: "Bearer " + token }, credentials: "omit", cache: "no-store",
    });
    if (!response.ok) {
      throw new Error(response.status + ": could not download " + filename);
    }
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  // Other panels (insights.js) get the means to call the API, never the token itself.
  function announceToken(accepted) {
    document.dispatchEvent(new CustomEvent(accepted ? "plansearch:admin-token" : "plansearch:admin-forget",
      { detail: accepted ? { call, download } : null }));
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    row.appendChild(td);
    return td;
  }

  // On narrow screens each row is stacked (admin.css), so each cell carries its column's
  // name to show beside the value, and explicit roles keep the table a table.
  function labelCells(body) {
    const names = Array.from(body.closest("table").querySelectorAll("thead th"), (th) =>
      (th.querySelector(".visually-hidden") ? "" : th.textContent.trim()));
    Array.from(body.rows).forEach((row) => {
      row.setAttribute("role", "row");
      Array.from(row.cells).forEach((td, column) => {
        td.setAttribute("role", "cell");
        td.dataset.label = names[column] || "";
      });
    });
  }

  function progressText(job) {
    const p = job.progress || {};
    const parts = [p.phase || job.status];
    if (p.documents_total != null) {
      parts.push("documents " + (p.documents_done || 0) + "/" + p.documents_total);
    }
    if (p.chunks_total != null) {
      parts.push("chunks " + (p.chunks_done || 0) + "/" + p.chunks_total);
    }
    return parts.join(", ");
  }

  function filesText(job) {
    // a watch job's files say what the folder saw happen: added, changed, moved, removed
    const lines = (job.files || []).map((f) => f.name + (f.change ? " (" + f.change + ")" : "") + ": "
      + f.status + (f.reason ? " (" + f.reason + ")" : ""));
    if (job.kind === "reindex") {
      (job.errors || []).forEach((e) => lines.push(e.file + ": " + e.reason));
    }
    if (job.message) {
      lines.push(job.message);
    }
    return lines;
  }

  function renderJobs(jobs) {
    const body = $("jobs");
    body.replaceChildren();
    jobs.forEach((job) => {
      const row = document.createElement("tr");
      cell(row, job.id.slice(0, 8));
      cell(row, job.kind + (job.full ? " (full)" : ""));
      const status = cell(row, job.status);
      status.className = "job-status job-status--" + job.status;
      cell(row, progressText(job));
      const files = cell(row, "");
      filesText(job).forEach((line) => {
        const div = document.createElement("div");
        div.textContent = line;
        files.appendChild(div);
      });
      cell(row, (job.created_at || "").replace("T", " ").slice(0, 19));
      body.appendChild(row);
    });
    labelCells(body);
  }

  async function refreshJobs() {
    const payload = await call("GET", "/api/v1/jobs");
    renderJobs(payload.jobs);
    const active = payload.jobs.some((j) => j.status === "queued" || j.status === "running");
    clearTimeout(pollTimer);
    if (active) {
      pollTimer = setTimeout(() => refreshAll().catch(report), 1000);
    }
    return active;
  }

  function renderDocuments(payload) {
    const body = $("documents");
    body.replaceChildren();
    payload.documents.forEach((doc) => {
      const row = document.createElement("tr");
      const titleCell = cell(row, "");
      const link = document.createElement("a");
      link.href = "/documents/" + encodeURIComponent(doc.id);
      link.textContent = doc.title;
      titleCell.appendChild(link);
      cell(row, doc.path);
      cell(row, doc.area || "");
      cell(row, doc.chunks);
      const actions = cell(row, "");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button button--secondary";
      button.textContent = "Delete";
      button.setAttribute("aria-label", "Delete " + doc.title);
      button.addEventListener("click", () => deleteDocument(doc).catch(report));
      actions.appendChild(button);
      body.appendChild(row);
    });
    labelCells(body);
    const failed = $("failed");
    failed.replaceChildren();
    payload.failed.forEach((f) => {
      const item = document.createElement("li");
      item.textContent = f.path + ": " + f.reason;
      failed.appendChild(item);
    });
  }

  // Every document: /api/v1/documents answers a page at a time, with next_cursor.
  async function allDocuments() {
    const page = await call("GET", "/api/v1/documents?limit=500");
    let cursor = page.next_cursor;
    while (cursor) {
      const next = await call("GET", "/api/v1/documents?limit=500&cursor=" +
                              encodeURIComponent(cursor));
      page.documents.push(...next.documents);
      cursor = next.next_cursor;
    }
    return page;
  }

  async function refreshDocuments() {
    try {
      renderDocuments(await allDocuments());
    } catch (error) {
      if (error.status === 503) {
        renderDocuments({ documents: [], failed: [] });
        return;
      }
      throw error;
    }
  }

  async function refreshAll() {
    const active = await refreshJobs();
    if (!active) {
      await refreshDocuments();
    }
  }

  function report(error) {
    say("token-status", error.message, true);
  }

  async function deleteDocument(doc) {
    if (!window.confirm("Delete “" + doc.title + "”? The file moves to corpus/.deleted/.")) {
      return;
    }
    const payload = await call("DELETE", "/api/v1/documents/" + encodeURIComponent(doc.id));
    say("upload-status", "Deleting " + doc.path + " (job " + payload.job_id.slice(0, 8) + ")");
    await refreshAll();
  }

  async function upload(event) {
    event.preventDefault();
    const form = $("upload-form");
    if (!$("files").files.length) {
      say("upload-status", "choose one or more files first", true);
      return;
    }
    const data = new FormData(form);
    say("upload-status", "Uploading…");
    try {
      const payload = await call("POST", "/api/v1/documents", data);
      const names = payload.files.map((f) => f.name + " (" + f.status + ")").join(", ");
      say("upload-status", payload.status === "duplicate"
        ? "Already indexed: " + names
        : "Queued as job " + payload.job_id.slice(0, 8) + ": " + names);
      form.reset();
      await refreshAll();
    } catch (error) {
      say("upload-status", error.message, true);
    }
  }

  async function reindex(full) {
    const payload = await call("POST", "/api/v1/reindex" + (full ? "?full=true" : ""));
    say("upload-status", "Reindex queued as job " + payload.job_id.slice(0, 8));
    await refreshAll();
  }

  async function useToken(event) {
    event.preventDefault();
    token = $("token").value.trim() || null;
    $("token").value = "";
    try {
      await refreshAll();
      say("token-status", "Token accepted.");
      announceToken(true);
    } catch (error) {
      token = null;
      report(error);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("token-form").addEventListener("submit", useToken);
    $("forget-token").addEventListener("click", () => {
      token = null;
      clearTimeout(pollTimer);
      $("jobs").replaceChildren();
      $("documents").replaceChildren();
      say("token-status", "Token forgotten.");
      announceToken(false);
    });
    $("upload-form").addEventListener("submit", upload);
    $("reindex").addEventListener("click", () => reindex(false).catch(report));
    $("reindex-full").addEventListener("click", () => reindex(true).catch(report));
    $("refresh-documents").addEventListener("click", () => refreshDocuments().catch(report));
  });
})();

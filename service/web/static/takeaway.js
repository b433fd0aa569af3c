// Plansearch page: taking an answer away. "Copy answer" puts the answer and its numbered
// citations on the clipboard (plain text written as Markdown, and HTML for Word and
// Outlook); "Download sources" is the search's passages as CSV (GET /api/v1/search.csv);
// "Print" prints the page through print.css (no controls, links written out).

import { apiFilters } from "./facets.js";
import { copyTheOldWay } from "./render.js";

const DONE_MS = 2000;

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

const absolute = (url) => new URL(url, window.location.origin).href;
const escapeHtml = (text) => text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));

/** The answer's sources in marker order: [{marker, citation, url}]. */
export function numberedSources(data) {
  const byRank = new Map((data.results || []).map((r) => [r.rank, r]));
  const citations = (data.answer && data.answer.citations) || [];
  const listed = citations.length
    ? citations.map((c) => ({ marker: c.marker, result: byRank.get(c.rank) }))
    : (data.results || []).map((r) => ({ marker: r.rank, result: r }));
  return listed.filter((s) => s.result).map(({ marker, result }) => ({
    marker, citation: result.citation, url: absolute(result.url),
  }));
}

function answerText(data) {
  const coverage = data.coverage || {};
  if (coverage.status === "not_found") return `No answer: ${coverage.message || "the plans do not cover this question."}`;
  const caveat = coverage.status === "weak" && coverage.message ? `(${coverage.message})\n\n` : "";
  return caveat + ((data.answer && data.answer.text) || "No sentence answered this closely.");
}

/** The clipboard's two versions of one answer: {text (Markdown), html}. */
export function answerForClipboard(data, asked) {
  const sources = numberedSources(data);
  const text = answerText(data);
  const markdown = [`**Question:** ${asked}`, "", text, "", "**Sources**", "",
    ...sources.map((s) => `[${s.marker}] ${s.citation} <${s.url}>`)].join("\n");
  const html = `<p><strong>Question:</strong> ${escapeHtml(asked)}</p>`
    + text.split("\n\n").map((p) => `<p>${escapeHtml(p)}</p>`).join("")
    + "<p><strong>Sources</strong></p><ol>"
    + sources.map((s) => `<li value="${s.marker}"><a href="${escapeHtml(s.url)}">${escapeHtml(s.citation)}</a></li>`).join("")
    + "</ol>";
  return { text: markdown, html };
}

async function writeClipboard({ text, html }) {
  if (navigator.clipboard && window.isSecureContext && window.ClipboardItem) {
    try {
      await navigator.clipboard.write([new ClipboardItem({
        "text/plain": new Blob([text], { type: "text/plain" }),
        "text/html": new Blob([html], { type: "text/html" }),
      })]);
      return true;
    } catch (error) {
      // refused (permissions, focus): the plain text alone, the old way, below
    }
  }
  return copyTheOldWay(text);
}

/** GET /api/v1/search.csv for the search behind this answer. */
export function sourcesCsvUrl(query, filters, k) {
  const params = new URLSearchParams({ q: query, k: String(k) });
  for (const [name, values] of Object.entries(apiFilters(filters))) {
    for (const value of [].concat(values)) params.append(name, value);
  }
  return `/api/v1/search.csv?${params}`;
}

/** Every link to a document carries its absolute address, which print.css writes out. */
export function markPrintLinks(root) {
  for (const link of root.querySelectorAll("a[href]:not([href^='#'])")) {
    link.dataset.printUrl = link.href;
  }
}

/** The bar under one answer: Copy answer, Download sources, and Print unless
 * `withPrint` is false (a compare column: the page prints as a whole). */
export function takeawayBar(data, asked, filters, k, announce, withPrint = true) {
  const bar = el("div", { class: "takeaway", role: "group", "aria-label": "Take this answer away" });
  const copy = el("button", { type: "button", class: "button button--ghost takeaway__copy" }, "Copy answer");
  let timer = null;
  copy.addEventListener("click", async () => {
    const ok = await writeClipboard(answerForClipboard(data, asked));
    copy.textContent = ok ? "Copied" : "Copy failed";
    copy.classList.toggle("is-done", ok);
    announce(ok ? "Answer and sources copied" : "Could not copy the answer");
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      copy.textContent = "Copy answer";
      copy.classList.remove("is-done");
    }, DONE_MS);
  });
  const download = el("a", {
    class: "button button--ghost takeaway__csv",
    href: sourcesCsvUrl(data.query_used || asked, filters, k),
    download: "plansearch-sources.csv",
  }, "Download sources (CSV)");
  const print = el("button", { type: "button", class: "button button--ghost takeaway__print" }, "Print");
  print.addEventListener("click", () => window.print());
  bar.append(copy, download);
  if (withPrint) bar.append(print);
  return bar;
}

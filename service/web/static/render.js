// Plansearch chat page: rendering one conversation turn. Document text only ever
// reaches the page through textContent, never innerHTML, so a passage holding
// "<script>" shows as text.

const COPIED_FEEDBACK_MS = 2000;
const NO_CLOSE_ANSWER = "No sentence answered this closely. The nearest passages are below.";
const NO_MATCH = "Nothing in the plans matched this question. Try other words, or clear the filters.";
// Passages can run to thousands of characters; a card first shows the part around
// the best sentence. Lengths are in characters.
const NARROW = window.matchMedia("(max-width: 640px)");
const snippet = () => (NARROW.matches
  ? { limit: 600, before: 100, after: 100, min: 280, max: 560 }
  : { limit: 900, before: 160, after: 160, min: 420, max: 900 });

const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
export const scrollBehaviour = reducedMotion ? "auto" : "smooth";

// ---- DOM helpers ------------------------------------------------------

/** Make an element; `text` is always set with textContent. */
function el(tag, options = {}, children = []) {
  const node = document.createElement(tag);
  if (options.className) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  for (const [name, value] of Object.entries(options.attrs || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child) node.append(child);
  }
  return node;
}

export function announce(message) {
  const status = document.getElementById("status");
  // Clearing first makes screen readers repeat an identical message.
  status.textContent = "";
  window.setTimeout(() => { status.textContent = message; }, 50);
}

// ---- Rendering pieces -------------------------------------------------

/** Blank lines between paragraphs waste a card's height; one line break is enough. */
function tidy(text) {
  return text.replace(/\n[ \t\u00a0]*(?:\n[ \t\u00a0]*)+/g, "\n");
}

function orderedSpans(spans, length) {
  return (spans || [])
    .map(([start, end]) => [Math.max(0, start), Math.min(length, end)])
    .filter(([start, end]) => end > start)
    .sort((a, b) => a[0] - b[0]);
}

/**
 * chars[from:to] with each highlight span wrapped in <mark>. `chars` is the passage
 * split by code point, because the spans are Python string offsets.
 */
function highlightedText(chars, spans, from = 0, to = chars.length) {
  const fragment = document.createDocumentFragment();
  const text = (a, b) => tidy(chars.slice(a, b).join(""));
  let position = from;
  for (const [start, end] of spans) {
    if (end <= position || start >= to) continue;
    const markFrom = Math.max(start, position);
    const markTo = Math.min(end, to);
    if (markFrom > position) fragment.append(text(position, markFrom));
    fragment.append(el("mark", { text: text(markFrom, markTo) }));
    position = markTo;
  }
  if (position < to) fragment.append(text(position, to));
  return fragment;
}

/** A window of the passage around its first highlight, cut at word boundaries. */
function snippetWindow(chars, spans, size) {
  const [first] = spans.length ? spans : [[0, 0]];
  let from = Math.max(0, first[0] - size.before);
  let to = Math.min(chars.length,
    Math.max(from + size.min, Math.min(first[1] + size.after, from + size.max)));
  const isSpace = (c) => /\s/.test(c);
  if (from > 0) {
    while (from < first[0] && !isSpace(chars[from - 1])) from += 1;
  }
  if (to < chars.length) {
    while (to > from + 1 && !isSpace(chars[to])) to -= 1;
  }
  return [from, to];
}

/** The passage text, shortened around the highlight when long, with a toggle. */
function passageBlock(result, id) {
  const chars = Array.from(result.text || "");
  const spans = orderedSpans(result.highlights, chars.length);
  const quote = el("blockquote", { className: "card__passage", attrs: { id } });
  const size = snippet();
  if (chars.length <= size.limit) {
    quote.append(highlightedText(chars, spans));
    return [quote];
  }
  const [from, to] = snippetWindow(chars, spans, size);
  const toggle = el("button", {
    className: "button button--text passage-toggle",
    attrs: { type: "button", "aria-expanded": "false", "aria-controls": id },
  });
  const show = (full) => {
    quote.replaceChildren();
    if (full) {
      quote.append(highlightedText(chars, spans));
    } else {
      if (from > 0) quote.append(el("span", { className: "ellipsis", text: "… " }));
      quote.append(highlightedText(chars, spans, from, to));
      if (to < chars.length) quote.append(el("span", { className: "ellipsis", text: " …" }));
    }
    quote.classList.toggle("is-snippet", !full);
    toggle.setAttribute("aria-expanded", String(full));
    toggle.textContent = full ? "Show less" : `Show the whole passage (${chars.length.toLocaleString("en-GB")} characters)`;
  };
  toggle.addEventListener("click", () => show(toggle.getAttribute("aria-expanded") !== "true"));
  show(false);
  return [quote, toggle];
}

function pageText(result) {
  const pages = result.page_end && result.page_end !== result.page
    ? `Pages ${result.page}–${result.page_end}` : `Page ${result.page}`;
  const printed = result.page_label && result.page_label !== String(result.page)
    ? ` (printed ${result.page_label})` : "";
  return pages + printed;
}

function publishedAt(doc) {
  const url = (doc && doc.source_url) || "";
  return /^https?:\/\//i.test(url) ? url : null;
}

function citationText(result) {
  // a document fetched from its publisher (make sync) is cited with where it was published
  const link = publishedAt(result.document) ? ` ${publishedAt(result.document)}` : "";
  if (result.citation) return result.citation + link;
  const section = result.section ? `, §${result.section.split(" > ").pop()}` : "";
  return `${result.document.title}, p.${result.page}${section}${link}`;
}

function cardId(turn, rank) {
  return `turn-${turn}-source-${rank}`;
}

function relevanceBar(score) {
  const percent = Math.round(Math.min(1, Math.max(0, Number(score) || 0)) * 100);
  const fill = el("span", { className: "relevance__fill" });
  fill.style.width = `${percent}%`; // CSSOM, which the CSP allows
  const bar = el("span", {
    className: "relevance__bar",
    attrs: {
      role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": String(percent), "aria-label": `relevance ${percent}%`,
    },
  }, [fill]);
  return el("div", { className: "relevance" }, [
    bar,
    el("span", { className: "relevance__value", text: `${percent}%`, attrs: { "aria-hidden": "true" } }),
  ]);
}

function copyButton(result) {
  const button = el("button", {
    className: "button button--ghost copy-citation",
    text: "Copy citation",
    attrs: { type: "button", title: citationText(result) },
  });
  let timer = null;
  button.addEventListener("click", async () => {
    const ok = await copyText(citationText(result));
    button.textContent = ok ? "Copied" : "Copy failed";
    button.classList.toggle("is-done", ok);
    announce(ok ? "Citation copied" : "Could not copy the citation");
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      button.textContent = "Copy citation";
      button.classList.remove("is-done");
    }, COPIED_FEEDBACK_MS);
  });
  return button;
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (error) {
      // permission refused, or the document lost focus: try the old way below
    }
  }
  return copyTheOldWay(text);
}

/** Copy plain text through a selected scratch textarea: for pages served over plain
 * HTTP, where the Clipboard API is missing, and for when it refuses. */
export function copyTheOldWay(text) {
  const scratch = el("textarea", { className: "copy-scratch", attrs: { readonly: "", "aria-hidden": "true" } });
  scratch.value = text;
  document.body.append(scratch);
  scratch.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch (error) {
    ok = false;
  }
  scratch.remove();
  return ok;
}

export function sourceCard(result, turn, askedArea) {
  const doc = result.document || {};
  const elsewhere = result.other_area && askedArea && doc.area
    ? el("p", { className: "card__elsewhere", text: `From ${doc.area}, not ${askedArea}` }) : null;
  const heading = el("div", { className: "card__heading" }, [
    el("span", { className: "card__rank", text: String(result.rank), attrs: { "aria-hidden": "true" } }),
    el("h4", { className: "card__title" }, [
      el("span", { className: "visually-hidden", text: `Source ${result.rank}: ` }),
      doc.title || doc.path || "Untitled document",
    ]),
    doc.area ? el("span", { className: "card__area", text: doc.area }) : null,
  ]);

  const where = el("p", { className: "card__where" }, [
    el("span", { className: "card__page", text: pageText(result) }),
  ]);
  if (result.section) {
    where.append(el("span", { className: "card__section", text: `§ ${result.section.split(" > ").join(" › ")}` }));
  }


  const open = el("a", {
    className: "button button--link",
    attrs: { href: result.url, target: "_blank", rel: "noopener" },
  }, [
    `Open at page ${result.highlight_page || result.page}`,
    el("span", { className: "visually-hidden", text: ` of ${doc.title || "the document"} (opens in a new tab)` }),
  ]);

  return el("li", {
    className: "card",
    attrs: { id: cardId(turn, result.rank), tabindex: "-1", "data-chunk-id": result.chunk_id },
  }, [
    heading,
    elsewhere,
    where,
    relevanceBar(result.score),
    ...passageBlock(result, `${cardId(turn, result.rank)}-passage`),
    el("div", { className: "card__actions" }, [open, publishedLink(doc), copyButton(result)]),
  ]);
}

function publishedLink(doc) {
  const url = publishedAt(doc);
  if (!url) return null;
  return el("a", {
    className: "button button--link card__published",
    attrs: { href: url, rel: "noopener noreferrer", target: "_blank" },
  }, [
    "Where it was published",
    el("span", { className: "visually-hidden", text: ` (${doc.title || "the document"}, opens in a new tab)` }),
  ]);
}

function focusCard(id) {
  const card = document.getElementById(id);
  if (!card) return;
  card.scrollIntoView({ behavior: scrollBehaviour, block: "start" });
  card.focus({ preventScroll: true });
  card.classList.remove("is-flashed");
  void card.offsetWidth; // restart the flash animation on a repeat click
  card.classList.add("is-flashed");
  card.addEventListener("animationend", () => card.classList.remove("is-flashed"), { once: true });
}

function citeLink(number, result, turn) {
  const link = el("a", {
    className: "cite",
    text: String(number),
    attrs: {
      href: `#${cardId(turn, result.rank)}`,
      "aria-label": `source ${number}: ${result.document.title}, ${pageText(result).toLowerCase()}`,
    },
  });
  link.addEventListener("click", (event) => {
    event.preventDefault();
    focusCard(cardId(turn, result.rank));
  });
  return link;
}

/**
 * The answer, one quoted sentence per line, each [n] marker turned into a link to
 * source card n. Bullet runs inside a sentence go onto their own lines.
 */
export function answerList(answer, results, turn) {
  const byMarker = new Map((answer.citations || []).map((c) => [c.marker, c.rank]));
  const byRank = new Map(results.map((r) => [r.rank, r]));
  const list = el("ul", { className: "answer__points" });
  const text = answer.text || "";
  const bulleted = (s) => s.trim().replace(/\s+([•●▪◦])\s+/g, "\n$1 ");
  let position = 0;
  let item = null;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    const number = Number(match[1]);
    const result = byRank.get(byMarker.get(number) ?? number);
    if (!result) continue; // not a citation we can point at: it stays as text
    const sentence = text.slice(position, match.index);
    if (sentence.trim() || !item) {
      item = el("li", { className: "answer__point" }, [el("span", { text: bulleted(sentence) })]);
      list.append(item);
    }
    item.append(" ", citeLink(number, result, turn));
    position = match.index + match[0].length;
  }
  const rest = text.slice(position).replace(/^[\s.]+$/, "");
  if (rest.trim()) list.append(el("li", { className: "answer__point" }, [el("span", { text: bulleted(rest) })]));
  return list;
}

function sameQuery(a, b) {
  const normalise = (s) => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
  return normalise(a) === normalise(b);
}

function metaLine(data, asked, filters) {
  const items = [];
  if (data.query_used && !sameQuery(data.query_used, asked)) {
    items.push(el("li", { className: "meta__item meta__item--query" }, [
      "Searched for: ",
      el("q", { text: data.query_used }),
    ]));
  }
  const area = data.interpreted && data.interpreted.area;
  if (area) {
    const areas = Array.isArray(area) ? area.join(", ") : String(area);
    items.push(el("li", { className: "meta__item meta__item--area", text: `Focused on ${areas}` }));
  }
  if (filters.area) items.push(el("li", { className: "meta__item", text: `Area filter: ${filters.area}` }));
  if (filters.documentTitle) items.push(el("li", { className: "meta__item", text: `Document filter: ${filters.documentTitle}` }));
  if (filters.other) items.push(el("li", { className: "meta__item", text: filters.other }));
  const count = (data.results || []).length;
  const took = typeof data.took_ms !== "number" ? ""
    : data.took_ms >= 1000 ? ` in ${(data.took_ms / 1000).toFixed(1)} s` : ` in ${Math.round(data.took_ms)} ms`;
  items.push(el("li", { className: "meta__item meta__item--count", text: `${count} passage${count === 1 ? "" : "s"}${took}` }));
  return el("ul", { className: "meta", attrs: { "aria-label": "About this search" } }, items);
}

/** The verdict's message when the plans may not cover the question, else null. */
export function coverageNotice(coverage, turn) {
  if (!coverage || coverage.status === "answered" || !coverage.message) return null;
  const title = coverage.status === "not_found" ? "Not covered by the indexed plans" : "Only a weak match";
  return el("div", {
    className: `coverage coverage--${coverage.status}`,
    attrs: { id: `turn-${turn}-coverage` },
  }, [
    el("p", { className: "coverage__title", text: title }),
    el("p", { className: "coverage__message", text: coverage.message }),
  ]);
}

/** The turn's answer and its source cards; returns the answer's heading. */
export function renderAnswer(body, data, asked, filters, turn) {
  const results = data.results || [];
  const answer = data.answer || { text: "", citations: [] };
  const coverage = data.coverage || null;
  const notFound = coverage && coverage.status === "not_found";
  const notice = coverageNotice(coverage, turn);
  if (notice) body.append(notice); // above everything else, so nobody misses it
  body.append(metaLine(data, asked, filters));

  const answerBox = el("section", { className: "answer", attrs: { "aria-labelledby": `turn-${turn}-answer` } }, [
    el("h3", {
      className: "answer__label",
      text: "Answer",
      // app.js moves focus here when the answer arrives
      attrs: { id: `turn-${turn}-answer`, tabindex: "-1", "aria-describedby": "answer-keys" },
    }),
  ]);
  if (notFound) {
    // the API's answer is the verdict's message, already shown above
    answerBox.append(el("p", {
      className: "answer__text answer__text--none",
      text: "No answer: see the notice above. The closest passages are listed below.",
    }));
  } else if (answer.text) {
    answerBox.append(answerList(answer, results, turn));
    answerBox.append(el("p", {
      className: "answer__note",
      text: "Quoted from the plans below; check the source before relying on it.",
    }));
  } else {
    answerBox.append(el("p", {
      className: "answer__text answer__text--none",
      text: results.length ? NO_CLOSE_ANSWER : NO_MATCH,
    }));
  }
  body.append(answerBox);

  if (results.length) {
    const label = notice ? "Closest passages" : "Sources";
    const askedArea = coverage && coverage.area ? coverage.area.name : null;
    const sources = el("section", { className: "sources", attrs: { "aria-labelledby": `turn-${turn}-sources` } }, [
      el("h3", { className: "sources__label", text: label, attrs: { id: `turn-${turn}-sources` } }),
      el("ol", { className: "cards" }, results.map((r) => sourceCard(r, turn, askedArea))),
    ]);
    body.append(sources);
  }
  return answerBox.querySelector(".answer__label");
}

/** The answer as one line of plain text for the status region: markers out, since a
 * screen reader would read "[1]" as "left bracket one". */
export function spokenAnswer(data) {
  const coverage = data.coverage;
  if (coverage && coverage.status === "not_found" && coverage.message) return coverage.message;
  const text = (data.answer && data.answer.text) || "";
  const caveat = coverage && coverage.status === "weak" && coverage.message ? `${coverage.message} ` : "";
  if (text) return caveat + text.replace(/\s*\[\d+\]/g, "").replace(/\s+/g, " ").trim();
  if (caveat) return caveat.trim();
  return (data.results || []).length ? NO_CLOSE_ANSWER : NO_MATCH;
}

export function renderError(body, message, retry) {
  const retryButton = el("button", { className: "button button--secondary", text: "Try again", attrs: { type: "button" } });
  retryButton.addEventListener("click", retry);
  body.append(el("div", { className: "error", attrs: { role: "alert" } }, [
    el("p", { className: "error__title", text: "The search did not work" }),
    el("p", { className: "error__message", text: message }),
    retryButton,
  ]));
}

export function turnShell(asked, turn) {
  const body = el("div", { className: "turn__body" });
  const article = el("article", {
    className: "turn",
    attrs: { id: `turn-${turn}`, "aria-labelledby": `turn-${turn}-question` },
  }, [
    el("div", { className: "turn__question" }, [
      el("h2", { className: "question-bubble", attrs: { id: `turn-${turn}-question` } }, [
        el("span", { className: "visually-hidden", text: `Question ${turn}: ` }),
        asked,
      ]),
    ]),
    body,
  ]);
  return { article, body };
}

export function loadingIndicator() {
  return el("div", { className: "loading" }, [
    el("span", { className: "spinner", attrs: { "aria-hidden": "true" } }),
    el("span", { text: "Searching the plans…" }),
  ]);
}

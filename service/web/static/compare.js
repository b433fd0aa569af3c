// Plansearch page: compare. "compare Gloucestershire and Staffordshire urgent care" in
// the question box, or two areas or more ticked under "Compare areas", asks
// POST /api/v1/compare and shows one column per area, each with its own verdict, answer
// and sources.
import { apiFilters } from "./facets.js";
import { feedbackBox, feedbackOn, citedChunks } from "./feedback.js";
import { postJSON } from "./http.js";
import { announce, answerList, coverageNotice, sourceCard } from "./render.js";
import { takeawayBar } from "./takeaway.js";

const TYPED = /^\s*(?:please\s+)?compare\b/i;
const control = document.getElementById("compare-control");

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function tickedAreas() {
  if (!control) return [];
  return [...control.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value);
}

/** The compare request for a question, or null when it is an ordinary question. */
export function compareRequest(asked, filters) {
  const areas = tickedAreas();
  const { area, ...rest } = filters || {};
  if (areas.length >= 2) return { question: asked, areas, filters: apiFilters(rest) };
  if (TYPED.test(asked)) return { question: asked, filters: apiFilters(rest) };
  return null;
}

/** POST /api/v1/compare. A typed "compare ..." that names fewer than two areas ("compare
 * waiting times this year and last") is an ordinary question after all: null, so the
 * caller asks it as one. */
export async function postCompare(body, signal) {
  try {
    return await postJSON("/api/v1/compare", body, signal);
  } catch (error) {
    if (!body.areas && error.code === "invalid_compare" && error.field === "areas") return null;
    throw error;
  }
}

function columnAnswer(column, key) {
  const box = el("section", { class: "answer compare__answer", "aria-label": "Answer" });
  const answer = column.answer || { text: "", citations: [] };
  if (column.coverage && column.coverage.status === "not_found") {
    box.append(el("p", { class: "answer__text answer__text--none" }, "No answer: see the notice above."));
  } else if (answer.text) {
    box.append(answerList(answer, column.results || [], key));
  } else {
    box.append(el("p", { class: "answer__text answer__text--none" }, "No sentence answered this closely."));
  }
  return box;
}

/** The columns; returns the comparison's heading, which takes focus. */
export function renderComparison(body, data, turn) {
  const heading = el("h3", { class: "compare__title", id: `turn-${turn}-answer`, tabindex: "-1",
                              "aria-describedby": "answer-keys" },
                     `Compared: ${data.topic}`);
  const grid = el("div", { class: "compare__columns" });
  data.columns.forEach((column, index) => {
    const key = `${turn}-c${index + 1}`;
    const name = column.area || column.title || column.document;
    const section = el("section", { class: "compare__column", "aria-labelledby": `turn-${key}-name` });
    section.append(el("h4", { class: "compare__name", id: `turn-${key}-name` }, name));
    const notice = coverageNotice(column.coverage, key);
    if (notice) section.append(notice);
    section.append(columnAnswer(column, key));
    const results = column.results || [];
    const filters = column.area ? { area: [column.area] } : { document: [column.document] };
    if (results.length) {
      const asked = `${data.topic} in ${name}`;
      section.append(takeawayBar({ ...column, query_used: data.topic }, asked, filters,
        5, announce, false));
    }
    if (results.length) {
      section.append(el("p", { class: "sources__label" }, notice ? "Closest passages" : "Sources"));
      const cards = el("ol", { class: "cards" });
      for (const result of results) cards.append(sourceCard(result, key, null));
      section.append(cards);
    }
    if (feedbackOn()) {
      section.append(feedbackBox({
        question: `${data.topic} in ${name}`, verdict: column.coverage.status,
        chunkIds: citedChunks(column.answer, results),
        filters,
      }, `turn-${key}-feedback`));
    }
    grid.append(section);
  });
  body.append(heading, grid);
  return heading;
}

/** One line for the status region. */
export function spokenComparison(data) {
  return data.columns.map((c) => `${c.area || c.title}: ${c.coverage.status === "answered"
    ? "answered" : c.coverage.message || c.coverage.status}`).join(". ");
}

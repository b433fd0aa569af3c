// Plansearch page: "helpful / not helpful" under an answer, with an optional reason,
// sent to POST /api/v1/feedback. Shown only when the server keeps feedback
// (PLANSEARCH_QUESTION_LOG; the page's body says data-feedback="on").
import { apiFilters } from "./facets.js";
import { postJSON } from "./http.js";

const REASONS = [
  ["wrong_passage", "It quoted the wrong passage"],
  ["not_in_library", "The answer is not in the library"],
  ["out_of_date", "It is out of date"],
  ["other", "Something else"],
];

export const feedbackOn = () => document.body.dataset.feedback === "on";

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The chunk ids an answer cites: none when it quotes nothing (a not_found answer
 * blames no document). */
export function citedChunks(answer, results) {
  const ranks = new Set(((answer && answer.citations) || []).map((c) => c.rank));
  const chosen = results.filter((r) => ranks.has(r.rank));
  return [...new Set(chosen.flatMap((r) => r.chunk_ids || [r.chunk_id]))];
}

/**
 * The feedback box for one answer. `about`: {question, verdict, chunkIds, filters};
 * `id`: a prefix unique on the page.
 */
export function feedbackBox(about, id) {
  const box = el("div", { class: "feedback", role: "group", "aria-labelledby": `${id}-label` });
  const label = el("p", { class: "feedback__label", id: `${id}-label` }, "Was this answer helpful?");
  const yes = el("button", { type: "button", class: "button button--secondary" }, "Helpful");
  const no = el("button", { type: "button", class: "button button--secondary" }, "Not helpful");
  const buttons = el("div", { class: "feedback__buttons" });
  buttons.append(yes, no);

  const reasons = el("fieldset", { class: "feedback__reasons", hidden: "" });
  const legend = el("legend", { tabindex: "-1" }, "What was wrong? (optional)");
  reasons.append(legend);
  for (const [value, text] of REASONS) {
    const input = el("input", { type: "radio", name: `${id}-reason`, value, id: `${id}-${value}` });
    const option = el("label", { for: `${id}-${value}`, class: "feedback__reason" });
    option.append(input, ` ${text}`);
    reasons.append(option);
  }
  const send = el("button", { type: "button", class: "button button--primary" }, "Send");
  reasons.append(send);
  const said = el("p", { class: "feedback__said", tabindex: "-1", hidden: "" });

  async function submit(helpful, reason) {
    const body = { question: about.question, helpful, chunk_ids: about.chunkIds };
    if (reason) body.reason = reason;
    if (about.verdict) body.verdict = about.verdict;
    if (about.filters && Object.keys(about.filters).length) body.filters = apiFilters(about.filters);
    for (const button of box.querySelectorAll("button")) button.disabled = true;
    try {
      await postJSON("/api/v1/feedback", body);
      buttons.hidden = true;
      reasons.hidden = true;
      said.classList.remove("is-error");
      said.textContent = "Thank you: your feedback was recorded.";
    } catch (error) {
      said.classList.add("is-error");
      said.textContent = `Your feedback was not recorded: ${error.message}`;
      for (const button of box.querySelectorAll("button")) button.disabled = false;
    }
    said.hidden = false;
    said.focus();
  }

  yes.addEventListener("click", () => submit(true));
  no.addEventListener("click", () => {
    no.setAttribute("aria-pressed", "true");
    yes.disabled = true;
    no.disabled = true;
    reasons.hidden = false;
    legend.focus();
  });
  send.addEventListener("click", () => {
    const chosen = reasons.querySelector("input:checked");
    submit(false, chosen ? chosen.value : null);
  });
  box.append(label, buttons, reasons, said);
  return box;
}

// Plansearch chat page: the conversation state, the API calls and the controls.
// Plain JS modules, no framework, no network beyond this origin.
import {
  announce, loadingIndicator, renderAnswer, renderError, scrollBehaviour, spokenAnswer, turnShell,
} from "./render.js";
import { compareRequest, postCompare, renderComparison, spokenComparison } from "./compare.js";
import { citedChunks, feedbackBox, feedbackOn } from "./feedback.js";
import { postJSON } from "./http.js";
import { markPrintLinks, takeawayBar } from "./takeaway.js";
import {
  apiFilters, applyFilters, chosenFilters, clearFilters, recordSearch, renderFacets, stateFromURL, updateSummary,
} from "./facets.js";

const RESULTS_PER_QUESTION = 5;

const form = document.getElementById("ask-form");
const thread = document.getElementById("thread");
const emptyState = document.getElementById("empty-state");
const question = document.getElementById("question");
const askButton = document.getElementById("ask-button");
const askLabel = askButton.querySelector(".button__label");
const newConversation = document.getElementById("new-conversation");
const facetsPanel = document.getElementById("facets-panel");
const documentSelect = document.getElementById("filter-document");
const main = document.getElementById("main");
const composer = document.querySelector(".composer-wrap");

let history = []; // the turns the server answered: [{role, content}]
let turnCount = 0;
let inFlight = null; // AbortController of the running request

// ---- Talking to the API -----------------------------------------------

function currentFilters() {
  const filters = chosenFilters();
  const chosen = {};
  if (filters.area) chosen.area = filters.area.join(" or ");
  if (filters.document && documentSelect.selectedOptions[0]) {
    chosen.documentTitle = documentSelect.selectedOptions[0].textContent.trim();
  }
  const others = [["type", "Type"], ["publisher", "Publisher"], ["year", "Year"],
    ["published_from", "From"], ["published_to", "To"]]
    .filter(([name]) => filters[name]).map(([name, label]) => `${label}: ${filters[name].join(" or ")}`);
  if (others.length) chosen.other = others.join("; ");
  return { filters, chosen };
}

function postChat(messages, filters, signal) {
  return postJSON("/api/v1/chat", { messages, k: RESULTS_PER_QUESTION,
    filters: apiFilters(filters) }, signal);
}

function setBusy(busy) {
  askButton.disabled = busy;
  askButton.classList.toggle("is-busy", busy);
  askLabel.textContent = busy ? "Searching…" : "Ask";
  thread.setAttribute("aria-busy", String(busy));
}

function showThread() {
  emptyState.hidden = true;
  newConversation.hidden = false;
}

async function ask(asked, replaceURL = false) {
  if (inFlight) return;
  const { filters, chosen } = currentFilters();
  turnCount += 1;
  const turn = turnCount;
  const { article, body } = turnShell(asked, turn);
  const loading = loadingIndicator();
  body.append(loading);
  thread.append(article);
  showThread();
  article.scrollIntoView({ behavior: scrollBehaviour, block: "start" });

  const messages = [...history, { role: "user", content: asked }];
  let comparing = compareRequest(asked, filters); // a compare is not part of the chat
  const controller = new AbortController();
  inFlight = controller;
  setBusy(true);
  announce("Searching the plans…");
  try {
    let data = comparing ? await postCompare(comparing, controller.signal) : null;
    if (!data) {
      comparing = null;
      data = await postChat(messages, filters, controller.signal);
    }
    const waiting = waitingForAnswer();
    loading.remove();
    const answerHeading = comparing ? renderComparison(body, data, turn)
      : renderAnswer(body, data, asked, chosen, turn);
    if (comparing) {
      announce(`Comparison ready. ${spokenComparison(data)}`);
    } else {
      renderFacets(data.facets);
      // the address holds the search as it was run, so a link reproduces a follow-up too
      recordSearch(data.query_used || asked, filters, replaceURL);
      history = messages;
      if (data.answer && data.answer.text) history.push({ role: "assistant", content: data.answer.text });
      addTakeaway(body, data, asked, filters, turn);
      const count = (data.results || []).length;
      announce(`Answer ready, with ${count} source${count === 1 ? "" : "s"}. ${spokenAnswer(data)}`);
    }
    markPrintLinks(body);
    article.scrollIntoView({ behavior: scrollBehaviour, block: "start" });
    if (waiting) answerHeading.focus({ preventScroll: true });
  } catch (error) {
    if (error.name === "AbortError") return; // the conversation was reset
    loading.remove();
    renderError(body, error.message, () => {
      article.remove();
      ask(asked);
    });
    announce(`The search did not work: ${error.message}`);
  } finally {
    if (inFlight === controller) {
      inFlight = null;
      setBusy(false);
    }
  }
}

/** Copy, CSV and print under the answer, then "helpful / not helpful". */
function addTakeaway(body, data, asked, filters, turn) {
  const answer = body.querySelector(".answer");
  (answer || body).after(takeawayBar(data, asked, filters, RESULTS_PER_QUESTION, announce));
  if (!feedbackOn()) return;
  const results = data.results || [];
  body.append(feedbackBox({
    question: data.query_used || asked, verdict: data.coverage && data.coverage.status,
    chunkIds: citedChunks(data.answer, results), filters,
  }, `turn-${turn}-feedback`));
}

/** True unless the person has moved on (typing a follow-up, or elsewhere on the page),
 * in which case a new answer must not take their focus. */
function waitingForAnswer() {
  const focused = document.activeElement;
  const idle = !focused || focused === document.body || focused === askButton
    || emptyState.contains(focused);
  return question.value === "" && (idle || focused === question);
}

function submitQuestion() {
  const asked = question.value.trim();
  if (!asked) {
    question.focus();
    announce("Type a question first.");
    return;
  }
  if (inFlight) return;
  question.value = "";
  ask(asked);
}

function reset(quiet = false) {
  if (inFlight) inFlight.abort();
  inFlight = null;
  setBusy(false);
  history = [];
  turnCount = 0;
  thread.replaceChildren();
  emptyState.hidden = false;
  newConversation.hidden = true;
  question.value = "";
  if (quiet) return;
  question.focus();
  announce("Started a new conversation.");
  recordSearch("", chosenFilters());
}

// ---- Filters: the document list narrows to the chosen areas ----------------

function narrowDocuments() {
  if (!documentSelect) return;
  const areas = chosenFilters().area || [];
  for (const option of documentSelect.options) {
    if (!option.value) continue;
    const fits = !areas.length || areas.includes(option.dataset.area);
    option.hidden = !fits;
    option.disabled = !fits;
  }
  const picked = documentSelect.selectedOptions[0];
  if (picked && picked.disabled) documentSelect.value = "";
}

/** Run the search an address holds: on opening a shared link, and on Back/Forward. */
function searchFromURL(replaceURL) {
  const { q, filters } = stateFromURL();
  applyFilters(filters);
  narrowDocuments();
  if (q) ask(q, replaceURL);
}

// ---- Wiring ------------------------------------------------------------

form.addEventListener("submit", (event) => {
  event.preventDefault();
  submitQuestion();
});

question.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submitQuestion();
  }
});

for (const button of document.querySelectorAll(".example")) {
  button.addEventListener("click", () => {
    question.value = button.dataset.question;
    submitQuestion();
    question.focus();
  });
}

// Escape anywhere in the conversation goes back to the question box: one key from an answer.
main.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || event.defaultPrevented) return;
  event.preventDefault();
  question.focus();
});

// The viewport's scroll-padding follows the sticky bar's height, so the browser scrolls
// a focused element clear of the bar; when the bar is not sticky it covers nothing.
function padForComposer() {
  const sticky = getComputedStyle(composer).position === "sticky";
  document.documentElement.style.setProperty(
    "--composer-height", `${sticky ? composer.offsetHeight : 0}px`);
}
new ResizeObserver(padForComposer).observe(composer);
window.addEventListener("resize", padForComposer);

newConversation.addEventListener("click", () => reset());
if (facetsPanel) {
  facetsPanel.addEventListener("change", () => {
    updateSummary();
    narrowDocuments();
  });
}
document.getElementById("facets-clear")?.addEventListener("click", () => {
  clearFilters();
  narrowDocuments();
  announce("Filters cleared.");
});
window.addEventListener("popstate", () => {
  reset(true);
  searchFromURL(true);
});
searchFromURL(true);

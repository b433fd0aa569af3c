// Plansearch chat page: the conversation state, the API calls and the controls.
// Plain JS modules, no framework, no network beyond this origin.
import {
  announce, loadingIndicator, renderAnswer, renderError, scrollBehaviour, spokenAnswer, turnShell,
} from "./render.js";
import { compareRequest, postCompare, renderComparison, spokenComparison } from "./compare.js";
import { citedChunks, feedbackBox, feedbackOn } from "./feedback.js";
import { markPrintLinks, takeawayBar } from "./takeaway.js";

const RESULTS_PER_QUESTION = 5;

const form = document.getElementById("ask-form");
const thread = document.getElementById("thread");
const emptyState = document.getElementById("empty-state");
const question = document.getElementById("question");
const askButton = document.getElementById("ask-button");
const askLabel = askButton.querySelector(".button__label");
const newConversation = document.getElementById("new-conversation");
const areaSelect = document.getElementById("filter-area");
const documentSelect = document.getElementById("filter-document");
const main = document.getElementById("main");
const composer = document.querySelector(".composer-wrap");

let history = []; // the turns the server answered: [{role, content}]
let turnCount = 0;
let inFlight = null; // AbortController of the running request

// ---- Talking to the API -----------------------------------------------

function currentFilters() {
  const filters = {};
  const chosen = {};
  if (areaSelect && areaSelect.value) {
    filters.area = [areaSelect.value];
    chosen.area = areaSelect.value;
  }
  if (documentSelect && documentSelect.value) {
    filters.document = [documentSelect.value];
    chosen.documentTitle = documentSelect.selectedOptions[0].textContent.trim();
  }
  return { filters, chosen };
}

const BUSY_RETRIES = 3;
// With PLANSEARCH_ACCESS=keys or sso the page is signed in by its session cookie; a POST
// riding on that cookie must also carry the page's CSRF token (empty when open).
const CSRF_TOKEN = document.querySelector('meta[name="csrf-token"]')?.content || "";

function pause(seconds, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, seconds * 1000);
    if (signal) signal.addEventListener("abort", () => { clearTimeout(timer); reject(new DOMException("Aborted", "AbortError")); });
  });
}

// A worker already answering its share of chats says "busy" with Retry-After: wait
// and ask again a few times before showing the person an error.
async function postChat(messages, filters, signal, attempt = 0) {
  let response;
  try {
    response = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 ...(CSRF_TOKEN ? { "X-CSRF-Token": CSRF_TOKEN } : {}) },
      body: JSON.stringify({ messages, k: RESULTS_PER_QUESTION, filters }),
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new Error("Could not reach Plansearch. Check your connection and try again.");
  }
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  if (response.status === 401 && CSRF_TOKEN) {
    // the sign-in ran out (or its key was withdrawn): sign in again, then come back
    window.location.assign("/sign-in?next=" + encodeURIComponent(location.pathname));
  }
  const busy = response.status === 503 && data && data.error && data.error.code === "busy";
  if (busy && attempt < BUSY_RETRIES) {
    const wait = Math.min(Number(response.headers.get("Retry-After")) || 1, 5);
    await pause(wait, signal);
    return postChat(messages, filters, signal, attempt + 1);
  }
  if (!response.ok || !data) {
    const message = data && data.error && data.error.message;
    throw new Error(message || `The service answered with an unexpected response (HTTP ${response.status}).`);
  }
  return data;
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

async function ask(asked) {
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

function reset() {
  if (inFlight) inFlight.abort();
  inFlight = null;
  setBusy(false);
  history = [];
  turnCount = 0;
  thread.replaceChildren();
  emptyState.hidden = false;
  newConversation.hidden = true;
  question.value = "";
  question.focus();
  announce("Started a new conversation.");
}

// ---- Filters: narrow the document list to the chosen area --------------

async function loadDocumentAreas() {
  if (!areaSelect || !documentSelect) return;
  let data;
  try {
    const response = await fetch("/api/documents", { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    data = await response.json();
  } catch (error) {
    return; // the filters still work, just without narrowing
  }
  const areaOf = new Map((data.documents || []).map((d) => [d.id, d.area || ""]));
  for (const option of documentSelect.options) {
    if (option.value) option.dataset.area = areaOf.get(option.value) || "";
  }
  narrowDocuments();
}

function narrowDocuments() {
  const area = areaSelect.value;
  for (const option of documentSelect.options) {
    if (!option.value || option.dataset.area === undefined) continue;
    const fits = !area || option.dataset.area === area;
    option.hidden = !fits;
    option.disabled = !fits;
  }
  const chosen = documentSelect.selectedOptions[0];
  if (chosen && chosen.disabled) documentSelect.value = "";
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

newConversation.addEventListener("click", reset);
if (areaSelect) areaSelect.addEventListener("change", narrowDocuments);
loadDocumentAreas();

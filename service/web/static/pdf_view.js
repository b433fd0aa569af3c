// The PDF page view: one page of the original file drawn by the vendored pdf.js, with the
// passage's boxes (fractions of the page, recorded at build time) laid over it. The
// boxes are positioned in percentages of the sheet, so zooming never recomputes them.
import { GlobalWorkerOptions, getDocument } from "./pdfjs/pdf.min.mjs";

const ZOOMS = [0.5, 0.75, 1, 1.25, 1.5, 2, 3]; // 1 = the page fits the column's width
const data = JSON.parse(document.getElementById("pdf-view-data").textContent);
const canvas = document.getElementById("pdf-canvas");
const sheet = document.getElementById("pdf-sheet");
const scroller = document.getElementById("pdf-scroller");
const status = document.getElementById("pdf-status");
const note = document.getElementById("pdf-note");
const buttons = {
  previous: document.getElementById("pdf-previous"),
  next: document.getElementById("pdf-next"),
  zoomOut: document.getElementById("pdf-zoom-out"),
  zoomIn: document.getElementById("pdf-zoom-in"),
};
const state = { page: data.page, zoom: ZOOMS.indexOf(1), pdf: null, task: null, first: true };

GlobalWorkerOptions.workerSrc = data.worker;

function drawBoxes() {
  for (const old of sheet.querySelectorAll(".pdf-view__highlight")) old.remove();
  const here = data.boxes.filter((box) => box[0] === state.page);
  for (const [, x0, top, x1, bottom] of here) {
    const mark = document.createElement("div");
    mark.className = "pdf-view__highlight";
    mark.style.left = `${x0 * 100}%`;
    mark.style.top = `${top * 100}%`;
    mark.style.width = `${(x1 - x0) * 100}%`;
    mark.style.height = `${(bottom - top) * 100}%`;
    sheet.append(mark);
  }
  return here.length;
}

function describe(marked) {
  const where = `Page ${state.page} of ${state.pdf ? state.pdf.numPages : data.pages}`;
  status.textContent = where + (marked ? ", passage highlighted" : "");
  canvas.setAttribute("aria-label", `Page ${state.page} of ${data.title}` +
    (marked ? ", with the passage highlighted" : ""));
  scroller.setAttribute("aria-label", `Page ${state.page} of the original PDF`);
  buttons.previous.disabled = state.page <= 1;
  buttons.next.disabled = !state.pdf || state.page >= state.pdf.numPages;
  buttons.zoomOut.disabled = state.zoom === 0;
  buttons.zoomIn.disabled = state.zoom === ZOOMS.length - 1;
}

async function render() {
  const page = await state.pdf.getPage(state.page);
  const natural = page.getViewport({ scale: 1 });
  drawnFor = scroller.clientWidth;
  const fit = Math.max(drawnFor - 2, 100) / natural.width;
  const viewport = page.getViewport({ scale: fit * ZOOMS[state.zoom] });
  const ratio = window.devicePixelRatio || 1;
  if (state.task) state.task.cancel();
  canvas.width = Math.floor(viewport.width * ratio);
  canvas.height = Math.floor(viewport.height * ratio);
  sheet.style.width = `${Math.floor(viewport.width)}px`;
  sheet.style.height = `${Math.floor(viewport.height)}px`;
  state.task = page.render({
    canvasContext: canvas.getContext("2d"), viewport,
    transform: ratio === 1 ? null : [ratio, 0, 0, ratio, 0, 0],
  });
  try {
    await state.task.promise;
  } catch (error) {
    if (error && error.name === "RenderingCancelledException") return;
    throw error;
  }
  const marked = drawBoxes();
  describe(marked);
  sheet.dataset.rendered = String(state.page);
  if (state.first && marked) {
    state.first = false;
    sheet.querySelector(".pdf-view__highlight").scrollIntoView({ block: "center" });
  }
}

function go(page) {
  state.page = page;
  const url = new URL(window.location.href);
  url.searchParams.set("page", String(page));
  window.history.replaceState(null, "", url);
  render().catch(fail);
}

function zoom(step) {
  state.zoom = Math.min(Math.max(state.zoom + step, 0), ZOOMS.length - 1);
  render().catch(fail);
}

function fail(error) {
  note.hidden = false;
  note.textContent = "This page could not be drawn. The original file and the extracted " +
    "text are linked above.";
  status.textContent = "The page could not be drawn";
  console.warn("pdf view:", error);
}

buttons.previous.addEventListener("click", () => go(state.page - 1));
buttons.next.addEventListener("click", () => go(state.page + 1));
buttons.zoomOut.addEventListener("click", () => zoom(-1));
buttons.zoomIn.addEventListener("click", () => zoom(1));
describe(false);

// zoom 1 fits the column, so a narrower window (or a phone turned) draws the page again
let drawnFor = 0;
new ResizeObserver(() => {
  const width = scroller.clientWidth;
  if (state.pdf && Math.abs(width - drawnFor) > 8) render().catch(fail);
}).observe(scroller);

// The file may be anyone's upload, so nothing in it runs here (issue 23): no eval() for
// its fonts and no XFA forms. pdf.js runs a PDF's own JavaScript only through an
// annotation layer with `enableScripting` and the pdf.scripting sandbox; this page draws
// the canvas alone and vendors neither.
const SAFE_OPTIONS = Object.freeze({ isEvalSupported: false, enableXfa: false });

getDocument({ url: data.file, ...SAFE_OPTIONS }).promise
  .then((pdf) => {
    state.pdf = pdf;
    state.page = Math.min(state.page, pdf.numPages);
    return render();
  })
  .catch(fail);

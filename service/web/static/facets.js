// The chat page's facets and its address: the filters as checkboxes with counts (one
// fieldset per facet), and the question and filters in the URL (/?q=…&area=…&type=plan),
// so a link reproduces the search and the back button returns to the one before.

const FACETS = [
  ["area", "Area", "area"],
  ["type", "Type", "type"],
  ["publisher", "Publisher", "publisher"],
  ["year", "Year published", "year"],
];
export const FILTER_PARAMS = ["area", "type", "publisher", "year", "document",
  "published_from", "published_to"];

const panel = document.getElementById("facets-panel");
const summaryCount = document.getElementById("facets-chosen");
const documentSelect = document.getElementById("filter-document");
// the counts last shown: the server's, then each answer's
let lastFacets = panel && panel.dataset.facets ? JSON.parse(panel.dataset.facets) : null;

/** The filters as /api/v1 names them: the page's `type` (its addresses and checkboxes
 * keep the name shared links use) is the API's `kind`. */
export function apiFilters(filters) {
  const { type, ...rest } = filters || {};
  return type ? { ...rest, kind: type } : rest;
}

/** An answer's facets under the page's names: /api/v1's `kind` is the page's `type`. */
function pageFacets(facets) {
  if (!facets || !("kind" in facets)) return facets;
  const { kind, ...rest } = facets;
  return { ...rest, type: kind };
}

/** The filters ticked, by parameter: {area: [...], type: [...], ...}. */
export function chosenFilters() {
  const chosen = {};
  if (panel) {
    for (const box of panel.querySelectorAll("input[type=checkbox]:checked")) {
      (chosen[box.name] = chosen[box.name] || []).push(box.value);
    }
  }
  // from a shared link: date bounds have no control, and ride along until cleared
  for (const name of ["published_from", "published_to"]) {
    const kept = panel && panel.dataset[name];
    if (kept) chosen[name] = JSON.parse(kept);
  }
  if (documentSelect && documentSelect.value) chosen.document = [documentSelect.value];
  return chosen;
}

/** Rebuild the checkboxes from an answer's facets, keeping what is ticked (a ticked
 * value the new counts lack stays listed, with no count, so it can be cleared). */
export function renderFacets(answered, chosen = chosenFilters()) {
  const facets = pageFacets(answered);
  if (!panel || !facets) return;
  lastFacets = facets;
  const focused = document.activeElement && panel.contains(document.activeElement)
    ? [document.activeElement.name, document.activeElement.value] : null;
  const fieldsets = [];
  for (const [facet, legend, param] of FACETS) {
    const values = (facets[facet] || []).map((item) => [String(item.value), item.count]);
    for (const value of chosen[param] || []) {
      if (!values.some(([known]) => known === value)) values.push([value, null]);
    }
    if (!values.length) continue;
    fieldsets.push(facetFieldset(facet, legend, param, values, chosen[param] || []));
  }
  panel.replaceChildren(...fieldsets);
  if (focused) {
    const again = panel.querySelector(`input[name="${CSS.escape(focused[0])}"][value="${CSS.escape(focused[1])}"]`);
    if (again) again.focus();
  }
  updateSummary();
}

function facetFieldset(facet, legendText, param, values, ticked) {
  const fieldset = document.createElement("fieldset");
  fieldset.className = "facet";
  fieldset.dataset.facet = facet;
  const legend = document.createElement("legend");
  legend.className = "facet__legend";
  legend.textContent = legendText;
  const list = document.createElement("ul");
  list.className = "facet__values";
  values.forEach(([value, count], index) => {
    const id = `facet-${facet}-${index + 1}`;
    const box = document.createElement("input");
    Object.assign(box, { type: "checkbox", id, name: param, value, checked: ticked.includes(value) });
    const label = document.createElement("label");
    label.htmlFor = id;
    label.append(value);
    if (count !== null) {
      const counted = document.createElement("span");
      counted.className = "facet__count";
      counted.textContent = ` (${count})`;
      label.append(counted);
    }
    const item = document.createElement("li");
    item.className = "facet__value";
    item.append(box, label);
    list.append(item);
  });
  fieldset.append(legend, list);
  return fieldset;
}

export function updateSummary() {
  if (!summaryCount) return;
  const count = panel ? panel.querySelectorAll("input[type=checkbox]:checked").length : 0;
  summaryCount.textContent = count ? ` (${count} chosen)` : "";
}

/** Untick everything: the facets, the document and any date bounds from a link. */
export function clearFilters() {
  if (panel) {
    for (const box of panel.querySelectorAll("input[type=checkbox]")) box.checked = false;
    delete panel.dataset.published_from;
    delete panel.dataset.published_to;
  }
  if (documentSelect) documentSelect.value = "";
  updateSummary();
}

/** The question and filters this address holds. */
export function stateFromURL() {
  const params = new URLSearchParams(location.search);
  const filters = {};
  for (const name of FILTER_PARAMS) {
    const values = params.getAll(name).filter(Boolean);
    if (values.length) filters[name] = values;
  }
  return { q: (params.get("q") || "").trim(), filters };
}

/** Tick what the address holds (the server rendered the boxes it knows of). */
export function applyFilters(filters) {
  clearFilters();
  if (panel) {
    // rebuilt, so a value the link holds but the counts lack (year=2030) is listed too
    if (lastFacets) renderFacets(lastFacets, filters);
    for (const name of ["published_from", "published_to"]) {
      if (filters[name]) panel.dataset[name] = JSON.stringify(filters[name]);
    }
  }
  if (documentSelect && filters.document) documentSelect.value = filters.document[0];
  updateSummary();
}

export function urlFor(q, filters) {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  for (const name of FILTER_PARAMS) {
    for (const value of filters[name] || []) params.append(name, value);
  }
  const search = params.toString();
  return search ? `/?${search}` : "/";
}

/** Record a search in the history: a new entry unless this address already holds it. */
export function recordSearch(q, filters, replace = false) {
  const url = urlFor(q, filters);
  if (url === location.pathname + location.search) return;
  const state = { q, filters };
  if (replace) history.replaceState(state, "", url);
  else history.pushState(state, "", url);
}

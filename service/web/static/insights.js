// The admin page's Insights panel: GET /api/v1/insights through the admin page's API
// call (admin.js hands it over once the token is accepted; the token stays there).
// Everything from the server is written with textContent.
"use strict";

(function () {
  let api = null;
  const $ = (id) => document.getElementById(id);
  const REASONS = {
    wrong_passage: "Wrong passage", not_in_library: "Not in the library",
    out_of_date: "Out of date", other: "Other", "none given": "No reason given",
  };
  const VERDICTS = { answered: "Answered", weak: "Weak match", not_found: "Not found" };

  function say(text, isError) {
    $("insights-status").textContent = text;
    $("insights-status").classList.toggle("is-error", Boolean(isError));
  }

  function table(caption, columns, rows) {
    const wrap = document.createElement("div");
    const heading = document.createElement("h3");
    heading.textContent = caption;
    wrap.appendChild(heading);
    if (!rows.length) {
      const none = document.createElement("p");
      none.className = "admin__hint";
      none.textContent = "None in this period.";
      wrap.appendChild(none);
      return wrap;
    }
    const element = document.createElement("table");
    element.className = "admin__table insights__table";
    element.setAttribute("role", "table");
    const head = element.createTHead();
    head.setAttribute("role", "rowgroup");
    const headRow = head.insertRow();
    headRow.setAttribute("role", "row");
    columns.forEach((name) => {
      const th = document.createElement("th");
      th.scope = "col";
      th.setAttribute("role", "columnheader");
      th.textContent = name;
      headRow.appendChild(th);
    });
    const body = element.createTBody();
    body.setAttribute("role", "rowgroup");
    rows.forEach((values) => {
      const row = body.insertRow();
      row.setAttribute("role", "row");
      values.forEach((value, column) => {
        const td = row.insertCell();
        td.setAttribute("role", "cell");
        td.dataset.label = columns[column];
        td.textContent = value == null ? "" : String(value);
      });
    });
    wrap.appendChild(element);
    return wrap;
  }

  function render(report) {
    // a period past the log's retention would only answer 400
    Array.from($("insights-days").options).forEach((option) => {
      option.disabled = Number(option.value) > report.log.retention_days;
    });
    const box = $("insights");
    box.replaceChildren();
    const gaps = (list) => list.map((g) => [g.question, g.count, g.last_asked.replace("T", " ").slice(0, 16)]);
    const feedback = report.feedback;
    box.append(
      table("Questions per day", ["Day", "Questions"], report.per_day.map((d) => [d.date, d.questions])),
      table("Verdicts", ["Verdict", "Questions"], Object.entries(report.verdicts).map(([v, n]) => [VERDICTS[v] || v, n])),
      table("Not found: the library's gaps", ["Question", "Times asked", "Last asked (UTC)"], gaps(report.gaps.not_found)),
      table("Weak matches", ["Question", "Times asked", "Last asked (UTC)"], gaps(report.gaps.weak)),
      table("Not helpful, by reason", ["Reason", "Answers"], feedback.by_reason.map((r) => [REASONS[r.reason] || r.reason, r.count])),
      table("Not helpful, by document", ["Document", "Answers"], feedback.by_document.map((d) => [d.title, d.count])),
    );
    box.hidden = false;
    const off = report.log.enabled ? "" : " The question log is turned off (PLANSEARCH_QUESTION_LOG), so nothing new is recorded.";
    say(`${report.questions} question${report.questions === 1 ? "" : "s"} in the last ${report.days} days; `
      + `${feedback.helpful} marked helpful, ${feedback.not_helpful} not helpful.${off}`);
  }

  async function refresh() {
    if (!api) {
      say("Enter the admin token first.", true);
      return;
    }
    try {
      render(await api.call("GET", "/api/v1/insights?days=" + $("insights-days").value));
    } catch (error) {
      say(error.message, true);
    }
  }

  document.addEventListener("plansearch:admin-token", (event) => {
    api = event.detail;
    refresh();
  });
  document.addEventListener("plansearch:admin-forget", () => {
    api = null;
    $("insights").replaceChildren();
    $("insights").hidden = true;
    say("Enter the admin token to see the insights.");
  });
  document.addEventListener("DOMContentLoaded", () => {
    $("insights-refresh").addEventListener("click", refresh);
    $("insights-days").addEventListener("change", refresh);
    $("insights-csv").addEventListener("click", () => {
      if (!api) {
        say("Enter the admin token first.", true);
        return;
      }
      api.download("/api/v1/insights.csv?days=" + $("insights-days").value, "plansearch-insights.csv")
        .catch((error) => say(error.message, true));
    });
  });
})();

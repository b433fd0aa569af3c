"""Insights from the question log, for the librarian: questions per day, the verdict
split, the questions the library could not answer (grouped by their normalised text:
these are its gaps) and "not helpful" feedback by document and by reason."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from service.store.question_log import REASONS, VERDICTS, LoggedEntry

TOP = 20  # gaps and documents listed
NOT_WORD = re.compile(r"[^\w]+")


def normalise(question: str) -> str:
    """ "What about Dorset's urgent care?" and "what about dorset s urgent care" group."""
    return " ".join(NOT_WORD.sub(" ", question.lower().replace("’", "'")).split())


def gaps(entries: Iterable[LoggedEntry], verdict: str) -> list[dict[str, Any]]:
    """The questions given `verdict`, most often asked first, grouped by normalised text;
    each shown as it was most often written."""
    groups: dict[str, list[LoggedEntry]] = defaultdict(list)
    for entry in entries:
        if entry.verdict == verdict:
            groups[normalise(entry.question)].append(entry)
    # most often asked first; among equals, the most recently asked
    ranked = sorted(groups.items(), key=lambda item: item[1][-1].at, reverse=True)
    ranked.sort(key=lambda item: -len(item[1]))
    return [{"question": Counter(e.question for e in asked).most_common(1)[0][0],
             "normalised": key, "count": len(asked), "last_asked": asked[-1].at}
            for key, asked in ranked[:TOP]]


def not_helpful(entries: list[LoggedEntry], titles: Mapping[str, str]) -> dict[str, Any]:
    feedback = [e for e in entries if e.kind == "feedback"]
    unhelpful = [e for e in feedback if e.helpful is False]
    reasons = Counter(e.reason or "none given" for e in unhelpful)
    documents = Counter(d for e in unhelpful for d in e.documents)
    return {
        "helpful": sum(e.helpful is True for e in feedback), "not_helpful": len(unhelpful),
        "by_reason": [{"reason": r, "count": reasons[r]}
                      for r in (*REASONS, "none given") if reasons[r]],
        "by_document": [{"document": doc, "title": titles.get(doc, doc), "count": count}
                        for doc, count in documents.most_common(TOP)],
    }


def insights(entries: list[LoggedEntry], titles: Mapping[str, str]) -> dict[str, Any]:
    """The whole report over `entries` (oldest first); `titles` names documents."""
    asked = [e for e in entries if e.kind != "feedback"]
    per_day = Counter(e.at[:10] for e in asked)
    verdicts = Counter(e.verdict for e in asked if e.verdict)
    return {
        "questions": len(asked),
        "per_day": [{"date": day, "questions": per_day[day]} for day in sorted(per_day)],
        "verdicts": {verdict: verdicts[verdict] for verdict in VERDICTS},
        "gaps": {"not_found": gaps(asked, "not_found"), "weak": gaps(asked, "weak")},
        "feedback": not_helpful(entries, titles),
    }


def csv_rows(report: dict[str, Any]) -> list[tuple[str, str, int, str]]:
    """The report flattened for a spreadsheet: (section, item, count, detail)."""
    rows = [("per_day", day["date"], day["questions"], "") for day in report["per_day"]]
    rows += [("verdict", verdict, count, "") for verdict, count in report["verdicts"].items()]
    for verdict in VERDICTS[1:][::-1]:  # not_found first: the clearest gaps
        rows += [(f"gap_{verdict}", gap["question"], gap["count"], gap["last_asked"])
                 for gap in report["gaps"][verdict]]
    feedback = report["feedback"]
    rows += [("feedback", "helpful", feedback["helpful"], ""),
             ("feedback", "not_helpful", feedback["not_helpful"], "")]
    rows += [("not_helpful_reason", r["reason"], r["count"], "") for r in feedback["by_reason"]]
    rows += [("not_helpful_document", d["title"], d["count"], d["document"])
             for d in feedback["by_document"]]
    return rows

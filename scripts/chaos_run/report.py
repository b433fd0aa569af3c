"""The fault run's tables, and their sections of RELIABILITY.md."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def render(results: list[dict[str, Any]], seconds: float, command: str) -> str:
    """One Markdown table of the checks, then the PDF and kill-trial tables if any."""
    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M %Z')} on {os.cpu_count()} CPUs in "
             f"{seconds / 60:.1f} min: `{command}`", "",
             "| check | result | passed | detail |", "|---|---|---|---|"]
    for result in results:
        lines.append(f"| {result['check']} | {result['result']} | "
                     f"{'yes' if result['ok'] else '**NO**'} | {cell(result['detail'])} |")
    for result in results:
        if "rows" in result:
            lines += ["", "| PDF | outcome | reason | job seconds |", "|---|---|---|---|"]
            lines += [f"| {name} | {status} | {cell(reason) or '–'} | {took:.0f} |"
                      for name, status, reason, took in result["rows"]]
        if "trials" in result:
            lines += ["", "| trial | killed (s after the builder appeared) | job phase | "
                          "served right after | "
                          "retry published | recovered |", "|---|---|---|---|---|---|"]
            lines += [f"| {i} | {t['delay']:.1f} | {t['phase']} | {t['served']} | {t['retry']} "
                      f"| {'yes' if t['ok'] else '**NO**'} |"
                      for i, t in enumerate(result["trials"], start=1)]
    return "\n".join(lines)


def cell(text: str) -> str:
    """`text` on one line, safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def record(table: str, path: Path, marker: str = "chaos") -> None:
    """Replace the `marker` section of RELIABILITY.md (or append one)."""
    text = path.read_text() if path.exists() else "# Reliability\n"
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    block = f"{start}\n{table}\n{end}"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)

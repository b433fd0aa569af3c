"""Where things are, for tests in any folder under tests/: import these rather than
counting `.parent`s from a test file, which breaks whenever a test moves."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent  # the repository (or worktree)
DATA = TESTS / "data"
VENDOR = TESTS / "vendor"
DOCS = ROOT / "docs"
SERVICE = ROOT / "service"
SCRIPTS = ROOT / "scripts"
BUNDLED_CORPUS = ROOT / "corpus"
SHARED_PDFS = ROOT.parent / "shared" / "pdfs"  # the real awkward PDFs beside the worktrees

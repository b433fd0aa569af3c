"""The README's settings section documents every setting in service.config.SETTINGS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.config import SETTINGS, Setting

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def settings_section() -> str:
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    match = re.search(r"^## Settings\s*$(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    if match is None:
        pytest.skip("README.md has no '## Settings' section yet")
    return match.group(1)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_setting_is_documented(settings_section: str, setting: Setting) -> None:
    assert f"`{setting.env}`" in settings_section


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_documented_help_matches_the_settings_table(settings_section: str,
                                                    setting: Setting) -> None:
    row = next(line for line in settings_section.splitlines() if f"`{setting.env}`" in line)
    # the README may set code in backticks where the table's help text does not
    assert setting.help.replace("`", "") in row.replace("`", "")


def test_no_documented_setting_is_stale(settings_section: str) -> None:
    documented = set(re.findall(r"`(PLANSEARCH_[A-Z0-9_]+)`", settings_section))
    assert documented <= {setting.env for setting in SETTINGS}

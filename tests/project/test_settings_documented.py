"""docs/operations.md's settings section documents every setting in service.config.SETTINGS,
with the table's own help text, and nothing else."""

from __future__ import annotations

import re

import pytest
from paths import DOCS

from service.config import SETTINGS, Setting, load_config

OPERATIONS = DOCS / "operations.md"


@pytest.fixture(scope="module")
def settings_section() -> str:
    text = OPERATIONS.read_text(encoding="utf-8")
    match = re.search(r"^## Settings\s*$(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    if match is None:
        pytest.fail("docs/operations.md has no '## Settings' section", pytrace=False)
    return match.group(1)


def table_row(section: str, setting: Setting) -> str:
    rows = [line for line in section.splitlines()
            if line.startswith(f"| `{setting.documented_as}` |")]
    assert len(rows) == 1, f"{setting.documented_as} needs exactly one row in the table"
    return rows[0]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_setting_is_documented(settings_section: str, setting: Setting) -> None:
    table_row(settings_section, setting)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_documented_help_matches_the_settings_table(settings_section: str,
                                                    setting: Setting) -> None:
    row = table_row(settings_section, setting)
    # the page may set code in backticks where the table's help text does not
    assert setting.help.replace("`", "") in row.replace("`", "")


def test_no_documented_setting_is_stale(settings_section: str) -> None:
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", settings_section, re.MULTILINE))
    assert documented == {setting.documented_as for setting in SETTINGS}


def test_the_programmatic_settings_are_named_as_such(settings_section: str) -> None:
    programmatic = [setting.name for setting in SETTINGS if not setting.from_env]
    assert programmatic == ["JOB_BUILDER", "JOB_RUNNER_THREAD"]
    assert "The last two, `JOB_BUILDER` and `JOB_RUNNER_THREAD`, are" in \
        " ".join(settings_section.split())


def test_programmatic_settings_ignore_the_environment() -> None:
    config = load_config(environ={"PLANSEARCH_JOB_BUILDER": "x",
                                  "PLANSEARCH_JOB_RUNNER_THREAD": "0", "PLANSEARCH_PORT": "9000"})
    assert (config["JOB_BUILDER"], config["JOB_RUNNER_THREAD"]) == (None, True)
    assert config["PORT"] == 9000

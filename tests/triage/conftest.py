import json
from pathlib import Path

import pytest

RULES_FILE = Path(__file__).resolve().parents[2] / "backend" / "triage" / "rules" / "2026.1.json"
# The worked cases live in shared/triage/ beside the repo; a copy is kept here so the suite runs
# from any checkout, and test_the_copy_of_the_cases_is_current catches drift.
SHARED_CASES_FILE = Path(__file__).resolve().parents[3] / "shared" / "triage" / "cases.json"
CASES_FILE = Path(__file__).resolve().parent / "data" / "cases.json"


def load_rules():
    return json.loads(RULES_FILE.read_text())


def load_cases():
    return json.loads(CASES_FILE.read_text())


@pytest.fixture(scope="session")
def rules():
    return load_rules()

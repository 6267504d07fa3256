"""The README's commands as a new user copies them: every POST needs a credential (operator or admin), so every
`curl -X POST` shown must send one, or the user gets a 401 at the first try."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_post_example_in_the_readme_sends_a_credential():
    posts = [line for line in README.read_text().splitlines() if re.search(r"\bcurl\b.*-X\s*POST", line)]
    assert posts, "the README shows no POST example any more: update this test"
    missing = [line.strip() for line in posts if "Authorization: Bearer" not in line and "X-API-Key" not in line]
    assert not missing, missing

"""docs/faults.md names the test behind each fault: every one of them must exist, so the catalog cannot drift."""

from __future__ import annotations

import re

from conftest import REPO_ROOT

CATALOG = REPO_ROOT / "docs/faults.md"


def named_tests() -> set[str]:
    text = CATALOG.read_text()
    pytest_names = re.findall(r"`(tests/[\w/]+\.py::\w+)`", text)
    swift_names = re.findall(r"`([A-Z]\w*Tests/\w+)`", text)
    return set(pytest_names) | set(swift_names)


def swift_test_exists(suite: str, test: str) -> bool:
    for path in (REPO_ROOT / "Tests").rglob("*.swift"):
        text = path.read_text(errors="replace")
        if re.search(rf"\b(struct|final class|class|enum|extension)\s+{suite}\b", text) and re.search(rf"@Test\b[^\n]*\bfunc\s+{test}\s*\(", text):
            return True
    return False


def test_every_test_the_fault_catalog_names_exists():
    names = named_tests()
    assert len(names) > 60, f"the catalog names only {len(names)} tests: did the pattern stop matching?"
    missing = []
    for name in sorted(names):
        if "::" in name:
            file, test = name.split("::")
            path = REPO_ROOT / file
            if not path.exists() or not re.search(rf"^def {test}\(", path.read_text(), re.MULTILINE):
                missing.append(name)
        else:
            suite, test = name.split("/")
            if not swift_test_exists(suite, test):
                missing.append(name)
    assert not missing, f"docs/faults.md names tests that do not exist: {missing}"


def test_a_suite_named_alone_exists():
    for suite in re.findall(r"`([A-Z][A-Za-z]+Tests)`", CATALOG.read_text()):
        assert any(re.search(rf"\b{suite}\b", p.read_text(errors="replace")) for p in (REPO_ROOT / "Tests").rglob("*.swift")), suite

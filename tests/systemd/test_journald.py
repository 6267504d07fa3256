"""The journald log handler against a real systemd-journald.

journald runs standalone in a private mount namespace (tmpfs on /run, the test's directory bound on
/run/log/journal); the real binary logs through `viworks-agent debug log-test`, which goes through the same
LoggingBootstrap as `run`; the entries are read back with `journalctl --directory ... -o json`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from systemd_helpers import require_root_and_tools

# The standalone journald of the e2e suite (one script for both suites: journal.py lives in tests/e2e).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from journal import JOURNALD, JOURNALD_PROLOGUE  # noqa: E402

SCRIPT = JOURNALD_PROLOGUE + r"""
# 1. Explicit --log-format journald.
"$AGENT" debug log-test --log-format journald --tag "$TAG-explicit" 2>"$OUT/explicit.stderr"
# 2. auto, with JOURNAL_STREAM naming stderr (what systemd sets for StandardError=journal): journald.
: >"$OUT/auto.stderr"
JOURNAL_STREAM="$(stat -c %d:%i "$OUT/auto.stderr")" "$AGENT" debug log-test --tag "$TAG-auto" 2>>"$OUT/auto.stderr"
# 3. auto, with JOURNAL_STREAM naming another file: logfmt on stderr.
JOURNAL_STREAM="$(stat -c %d:%i /proc/self/exe)" "$AGENT" debug log-test --tag "$TAG-other" 2>"$OUT/other.stderr"
# 4. --log-level notice drops info and below.
"$AGENT" debug log-test --log-format journald --log-level notice --tag "$TAG-notice" 2>"$OUT/notice.stderr"

# Stopped once everything sent is in its files (journald reads its sockets in its own time).
journalctl --sync || true
kill -TERM "$JPID"
wait "$JPID" || true
"""


@pytest.fixture(scope="module")
def journal(agent_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    require_root_and_tools("unshare", "journalctl", JOURNALD)
    base = tmp_path_factory.mktemp("journald")
    journal_dir = base / "journal"
    journal_dir.mkdir()
    tag = f"t{uuid.uuid4().hex[:10]}"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "JOURNAL_DIR": str(journal_dir), "AGENT": str(agent_bin), "TAG": tag, "OUT": str(base)}
    run = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--fork", "bash", "-c", SCRIPT],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, f"namespace script failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    read = subprocess.run(["journalctl", f"--directory={journal_dir}", "-o", "json", "--no-pager"], capture_output=True, text=True, timeout=30)
    assert read.returncode == 0, read.stderr
    entries = [json.loads(line) for line in read.stdout.splitlines() if line.strip()]
    return {"tag": tag, "entries": entries, "dir": base}


def tagged(journal: dict, suffix: str) -> list[dict]:
    prefix = f"{journal['tag']}-{suffix} "
    return [e for e in journal["entries"] if isinstance(e.get("MESSAGE"), str) and e["MESSAGE"].startswith(prefix)]


def by_message(entries: list[dict], text: str) -> dict:
    found = [e for e in entries if e["MESSAGE"].endswith(text)]
    assert len(found) == 1, f"expected one entry ending in {text!r}, got {found}"
    return found[0]


LEVELS = {"trace": "7", "debug": "7", "info": "6", "notice": "5", "warning": "4", "error": "3", "critical": "2"}


def test_every_level_with_its_priority_identifier_and_location(journal: dict) -> None:
    entries = tagged(journal, "explicit")
    assert len(entries) == len(LEVELS) + 3
    for level, priority in LEVELS.items():
        entry = by_message(entries, f" {level} record")
        assert entry["PRIORITY"] == priority, level
        assert entry["SYSLOG_IDENTIFIER"] == "viworks-agent"
        assert entry["LOGGER"] == "viworks-agent.log-test"
        assert entry["CODE_FILE"].endswith("/DebugCommand.swift"), entry["CODE_FILE"]
        assert entry["CODE_LINE"].isdigit() and int(entry["CODE_LINE"]) > 0
        assert "run()" in entry["CODE_FUNC"]
        # Logger metadata and record metadata, as upper-case fields.
        assert entry["SUBSYSTEM"] == "debug"
        assert entry["LEVEL_NAME"] == level
        assert "_PID" in entry  # trusted fields: journald received it natively


def test_metadata_keys_become_journal_fields(journal: dict) -> None:
    entries = tagged(journal, "explicit")
    collector = by_message(entries, " collector record")
    assert collector["COLLECTOR"] == "disk"
    assert collector["REQUEST_ID"] == "req-42"  # request.id
    assert collector["BACKOFF_SECONDS"] == "1.5"  # backoff-seconds
    plugin = by_message(entries, " plugin record")
    assert plugin["PLUGIN"] == "nginx"
    # A metadata key named like a field the handler sets does not replace it.
    assert plugin["MESSAGE"] == f"{journal['tag']}-explicit plugin record"
    assert plugin["META_MESSAGE"] == "shadowed"
    assert plugin["F_9LIVES"] == "x"


def test_multiline_message_is_one_entry(journal: dict) -> None:
    entries = tagged(journal, "explicit")
    entry = by_message(entries, "second line")
    assert entry["MESSAGE"] == f"{journal['tag']}-explicit multi-line\nsecond line"


def test_explicit_journald_writes_nothing_on_stderr(journal: dict) -> None:
    assert (journal["dir"] / "explicit.stderr").read_text() == ""


def test_auto_picks_journald_when_stderr_is_the_journal_stream(journal: dict) -> None:
    assert len(tagged(journal, "auto")) == len(LEVELS) + 3
    assert (journal["dir"] / "auto.stderr").read_text() == ""


def test_auto_picks_logfmt_on_stderr_otherwise(journal: dict) -> None:
    assert tagged(journal, "other") == []
    lines = (journal["dir"] / "other.stderr").read_text().splitlines()
    assert len(lines) == len(LEVELS) + 3
    assert all(line.startswith("ts=") and " level=" in line and " msg=" in line for line in lines)
    assert any("collector=disk" in line and "request.id=req-42" in line for line in lines)


def test_log_level_filters(journal: dict) -> None:
    priorities = sorted(e["PRIORITY"] for e in tagged(journal, "notice"))
    assert priorities == ["2", "3", "4", "5"]

"""A standalone systemd-journald writing journal files into a directory of the test's own, in a private mount
namespace (`unshare --mount`: /run is a private tmpfs there), so tests read and follow a real journal on a machine
whose own journald (if any) is left alone. The agent reads the directory as `[logs] journal_directory`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

JOURNALD = "/lib/systemd/systemd-journald"

# Starts journald on a private /run with $JOURNAL_DIR as its /run/log/journal and waits for its socket; $JPID is its pid.
JOURNALD_PROLOGUE = r"""
set -eu
mount -t tmpfs tmpfs /run
mkdir -p /run/log/journal /run/systemd/journal
mount --bind "$JOURNAL_DIR" /run/log/journal
if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
/lib/systemd/systemd-journald &
JPID=$!
for _ in $(seq 600); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
[ -S /run/systemd/journal/socket ] || { echo "journald did not start" >&2; exit 90; }
"""

# After the prologue: one entry of $UNIT per line read (`<priority> <message>`), "written" once it is in the journal's
# files (journald reads its socket in its own time; `journalctl --sync` returns once what was sent before is stored);
# ends with stdin.
WRITE_LOOP = r"""
echo ready
while IFS=' ' read -r priority message; do
  printf 'MESSAGE=%s\nPRIORITY=%s\nSYSLOG_IDENTIFIER=e2e\nUNIT=%s\n' "$message" "$priority" "$UNIT" | logger --journald
  journalctl --sync || true
  echo written
done
kill -TERM "$JPID"
wait "$JPID" || true
"""


def unavailable() -> str | None:
    """Why this machine cannot run a standalone journald here; None when it can."""
    if os.geteuid() != 0:
        return "not root"
    missing = [tool for tool in ("unshare", "logger") if shutil.which(tool) is None] + ([JOURNALD] if not Path(JOURNALD).exists() else [])
    return f"missing {', '.join(missing)}" if missing else None


class LiveJournal:
    """A journald that keeps running: `write()` adds an entry of `unit` while the agent may be following."""

    def __init__(self, directory: Path, unit: str):
        directory.mkdir(parents=True, exist_ok=True)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "JOURNAL_DIR": str(directory), "UNIT": unit}
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--fork", "bash", "-c", JOURNALD_PROLOGUE + WRITE_LOOP],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.process.kill()
            raise RuntimeError(f"journald did not start: {line!r} {self.process.stderr.read()}")

    def write(self, message: str, priority: int = 6) -> None:
        assert "\n" not in message
        self.process.stdin.write(f"{priority} {message}\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "written"

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

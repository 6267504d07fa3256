"""`kill -9` of the real agent while audited commands are in flight, again and again on one state directory.

The command is harmless and leaves a trace of every run: `/bin/sh -c 'echo "$0" >> marks' N`, N unique per request.
After the kills the audit log must verify intact (`viworks-agent audit verify`), hold no half-written record, and hold
a `command.start` record for every run the marks file shows: no action ran without its record.
"""

from __future__ import annotations

import itertools
import json
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

from conftest import EXIT_TIMEOUT, run_cli, start_agent, wait_for

ROUNDS = 20
WORKERS = 6


def test_kill_9_during_audit_appends_keeps_the_chain_and_a_record_of_every_action(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    created = run_cli("keys", "create", "--role", "admin", "--name", "e2e-audit-kill", "--file", str(keys))
    assert created.returncode == 0, created.stderr
    headers = {"X-API-Key": created.stdout.strip(), "Content-Type": "application/json"}
    marks = tmp_path / "marks"
    config = tmp_path / "agent.toml"
    config.write_text(
        "[commands.mark]\n"
        'executable = "/bin/sh"\n'
        f'arguments = ["-c", "echo \\"$0\\" >> {marks}", "{{n}}"]\n'
        'parameters.n = "integer:0..1000000"\n'
        'timeout = "10s"\n'
    )
    state = tmp_path / "state"
    env = {"VIWORKS_AGENT_STATE_DIRECTORY": str(state), "VIWORKS_SERVICES_SYSTEMD": "off", "VIWORKS_AUTH_API_KEY_FILE": str(keys)}
    numbers = itertools.count(1)
    answered: set[int] = set()
    rng = random.Random(18)

    for round_ in range(ROUNDS):
        agent = start_agent(tmp_path / f"agent{round_}", "--config", str(config), env=env)
        stop = threading.Event()

        def work() -> None:
            while not stop.is_set():
                n = next(numbers)
                body = json.dumps({"command": "mark", "parameters": {"n": n}}).encode()
                try:
                    response = agent.request("POST", "/api/v1/command", headers=headers, body=body)
                except Exception:  # the agent is gone (refused, reset, or cut mid-answer)
                    return
                if response.status == 200:
                    answered.add(n)
                elif response.status != 429:  # 429: max_running commands run already
                    raise AssertionError(f"round {round_}: {response.status} {response.body[:300]!r}")

        before = len(answered)
        threads = [threading.Thread(target=work, daemon=True) for _ in range(WORKERS)]
        for thread in threads:
            thread.start()
        try:
            # Commands complete in this round before the kill lands at a random moment among the appends.
            wait_for(lambda: len(answered) > before, timeout=60, what=f"round {round_}: a command answered")
            time.sleep(rng.uniform(0.05, 0.6))
        finally:
            agent.process.send_signal(signal.SIGKILL)
            agent.process.wait(timeout=EXIT_TIMEOUT)
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
        verify = run_cli("audit", "verify", "--file", str(state / "audit.sqlite"), timeout=60)
        assert verify.returncode == 0 and "intact" in verify.stdout, f"round {round_}: {verify.stdout} {verify.stderr}"

    with sqlite3.connect(state / "audit.sqlite") as connection:
        rows = connection.execute("SELECT id, event, action, argv, outcome, exit_code, start_id FROM audit_log ORDER BY id").fetchall()
    # No record is half-written: the ids follow each other and every field a record of its kind has is there.
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
    starts: dict[int, int] = {}  # record id -> N
    ends: dict[int, tuple[str, int | None]] = {}  # start id -> (outcome, exit code)
    for record_id, event, action, argv, outcome, exit_code, start_id in rows:
        assert action == "mark", rows[record_id - 1]
        if event == "command.start":
            arguments = json.loads(argv)
            assert arguments[:2] == ["/bin/sh", "-c"] and len(arguments) == 4, arguments
            starts[record_id] = int(arguments[3])
        else:
            assert event == "command.end" and start_id in starts and outcome, rows[record_id - 1]
            ends[start_id] = (outcome, exit_code)
    started = set(starts.values())
    assert len(started) == len(starts), "a number was started twice"

    ran = [int(line) for line in marks.read_text().split()]
    assert len(ran) == len(set(ran)), "a command ran twice"
    # No action ran without its start record; every answered one has both records, with its outcome.
    assert set(ran) <= started, sorted(set(ran) - started)[:10]
    assert answered <= set(ran), sorted(answered - set(ran))[:10]
    number_of = {start: n for start, n in starts.items()}
    ended_ok = {number_of[start] for start, (outcome, code) in ends.items() if outcome == "ok" and code == 0}
    assert answered <= ended_ok, sorted(answered - ended_ok)[:10]
    assert ended_ok <= set(ran)
    # The kills landed among the appends: some actions were started and never answered.
    assert len(answered) >= ROUNDS and len(starts) > len(answered), (len(starts), len(answered))

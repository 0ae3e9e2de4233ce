"""Issue 16 on the command line: `cadenza admin reset-password` / `reassign`, `cadenza audit log` and
`cadenza client fix` (the services are tested on both backends in tests/clinic/test_corrections.py; here,
that the commands reach them)."""

from __future__ import annotations

import json
import re

PASSWORD = "a perfectly long passphrase"


def test_reset_reassign_log_and_fix_from_the_command_line(cli):
    for name in ("ana", "bo"):
        assert cli("admin", "create", name, "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    assert cli("client", "add", "C001", user="ana").exit_code == 0
    reset = cli("admin", "reset-password", "bo")
    assert reset.exit_code == 0 and re.search(r"temporary password \S+-\S+-\S+-\S+", reset.output)

    made = cli("client", "session", "C001", "--minutes", "30", "--intervention", "receptive_listening", user="ana")
    session_id = int(re.search(r"[Ss]ession (\d+)", made.output).group(1))
    assert cli("client", "fix", "remove", "session", session_id, "--reason", "wrong client", user="ana").exit_code == 0
    assert f"session {session_id:>5}" in cli("client", "fix", "removed", "C001", user="ana").output
    assert cli("client", "fix", "restore", "session", session_id, user="ana").exit_code == 0

    moved = cli("admin", "reassign", "ana", "bo", "--code", "C001")
    assert moved.exit_code == 0 and "1 client(s) moved from ana to bo: C001" in moved.output
    events = json.loads(cli("audit", "log", "--user", "ana", "--action", "delete", "--json").output)["events"]
    assert [e["entity"] for e in events] == ["therapy_session"]
    assert cli("audit", "log", "--since", "yesterday").exit_code == 2

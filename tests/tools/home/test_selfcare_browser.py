"""``cadenza me ../shared/data/music`` end to end: the command scans the folder, serves the self-care app
on 127.0.0.1, and Chromium (phone screen) plays a playlist, sends ratings, blocks a song and deletes
everything; the command then exits and its private folder is gone."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
MUSIC = Path(__file__).resolve().parents[4] / "shared" / "data" / "music"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_until(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_cadenza_me_on_the_shared_music_folder(tmp_path, chromium):
    if not MUSIC.is_dir():
        pytest.skip(f"{MUSIC} is absent (../shared/data/music)")
    from playwright.sync_api import expect

    launch_browser = chromium

    data_dir = tmp_path / "self-care"
    port = _free_port()
    env = {**os.environ, "COLUMNS": "200"}
    command = subprocess.Popen([sys.executable, "-m", "cadenza.cli.main", "me", str(MUSIC), "--no-open",
                                "--port", str(port), "--data-dir", str(data_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in command.stdout], daemon=True).start()
    output, link = [], None
    try:
        deadline = time.monotonic() + 300
        while link is None:
            assert time.monotonic() < deadline and command.poll() is None, "".join(output)
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            output.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+/me/self/\S+)", line)
            link = found[1] if found else None
        printed = "".join(output)
        assert re.search(r"Scanned \d+ file", printed) and "Playlists: Relax" in printed, printed
        assert oct(data_dir.stat().st_mode & 0o777) == "0o700"

        # The link is printed (and the browser opened) only once the server listens: it opens at once.
        assert command.poll() is None, "".join(output)
        assert _listening(port), "the link was printed before the server listened"
        browser = launch_browser()
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(link)
        page.wait_for_url(f"http://127.0.0.1:{port}/me")
        for title in ("Relax", "Sleep", "Focus"):
            expect(page.locator("a.task-link", has_text=title)).to_have_count(1)
        expect(page.locator("#weekly-dose")).to_contain_text("safe weekly sound dose")
        expect(page.locator(".evidence-note").first).to_be_visible()

        page.click("a.task-link:has-text('Relax')")
        expect(page.locator("details.evidence")).to_contain_text("What the research says")
        page.click("fieldset[data-phase=before][data-code=vas_anxiety] button[data-value='50']")
        page.click("#play")
        _wait_until(lambda: float(page.get_attribute("#played", "data-seconds")) > 1.0)
        assert float(page.get_attribute("#task", "data-gain")) <= float(page.get_attribute("#task", "data-cap")) + 1e-6
        blocked = page.locator("#tracks li").nth(1)
        blocked_id = blocked.get_attribute("data-track")
        blocked.locator("button.block-track").click()
        expect(page.locator("#sync-status")).to_contain_text("will not be played again")
        expect(page.locator(f"#tracks li[data-track='{blocked_id}']")).to_have_count(0)
        page.click("fieldset[data-phase=after][data-code=vas_anxiety] button[data-value='20']")
        page.click("#done")
        expect(page.locator("#sync-status")).to_contain_text("Sent")

        page.goto(f"http://127.0.0.1:{port}/me")
        page.click("#forget")  # tap one
        page.click("#forget-now")  # tap two
        expect(page.locator("h1")).to_contain_text("deleted")
        context.close()
        assert command.wait(timeout=30) == 0
        assert not data_dir.exists()
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()

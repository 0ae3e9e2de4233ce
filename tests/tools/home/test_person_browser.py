"""The person's app in real headless Chromium on a phone-sized screen (issue 17).

The therapist makes an invitation on the client page; the phone opens the link, chooses a PIN, sees
today's programme, rates before, plays real music from ../shared/data/music through Web Audio (the
audio clock advances; the gain never exceeds the track's cap), rates after and presses done while
offline; back online, exactly one completion is stored. A revoked phone is refused.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from sqlalchemy import func, select

from playwright.sync_api import expect

from cadenza.clinic import service
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.settings import Settings
from cadenza.tools.home import actions, records
from cadenza.tools.home.records import TaskCompletion
from cadenza.web.main import create_app

PASSWORD = "cello-river-morning-42"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def clinic(tmp_path, shared_data, serve_app, migrated_sqlite):
    """A live server with ana, her client and two real tracks in the client's library."""
    from cadenza.tools.library import records as lr
    from cadenza.io.library_files import ScannedTrack, ScanReport
    from cadenza.io.tags import TrackTags
    from cadenza.music.analysis import TrackAnalysis

    music = [shared_data("music", "audio", name) for name in ("dev001.flac", "dev003.flac")]
    url = migrated_sqlite(tmp_path / "person.sqlite3")  # copied from the session's migrated template
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        ana = service.create_therapist(db, actor=None, username="ana", password=PASSWORD, role="therapist")
        client = service.create_client(db, actor=ana, code="rosa.h")
        analysis = TrackAnalysis(duration_s=30.0, tempo_bpm=90.0, tempo_confidence=0.9, beat_times_s=np.arange(0, 5, 0.7),
                                 integrated_loudness_lufs=-20.0, loudness_range_lu=3.0, brightness_hz=700.0,
                                 onset_rate_hz=1.5, energy=0.3, key="C", mode="major", mode_confidence=0.5)
        lr.store_scan(db, actor=ana, client_id=client.id, report=ScanReport(tracks=[
            ScannedTrack(str(p), p.stat().st_size, 1, "new", content_sha256=f"{i + 1:064x}",
                         tags=TrackTags(title=f"Song {i + 1}"), analysis=analysis, decoded=True)
            for i, p in enumerate(music)]))
        track_ids = [t.id for t in lr.list_tracks(db, actor=ana, client_id=client.id)]
        task = actions.assign_task(db, actor=ana, client=client, kind="listening", title="Evening music",
                                   instructions="Sit comfortably and listen.", days_per_week=7, minutes=20,
                                   ratings=["vas_anxiety", "mood"], track_ids=track_ids)
        ids = {"client_id": client.id, "task_id": task.id, "cap": actions.task_gain_cap(task)}
    app = create_app(Settings(database_url=url, data_dir=tmp_path), session_factory=factory)
    yield {"url": serve_app(app), "factory": factory, **ids}
    engine.dispose()


def _wait_until(condition, timeout_s: float = 30.0) -> None:
    """Poll from the test (the page's CSP forbids the eval that Playwright's wait_for_function polls with)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _completions(factory) -> int:
    with session_scope(factory) as db:
        return db.scalar(select(func.count()).select_from(TaskCompletion))


def test_invitation_pin_programme_playback_offline_completion_and_revocation(clinic, chromium):
    chromium = chromium()
    base = clinic["url"]
    # The therapist makes an invitation on the client's home-programme page.
    desk = chromium.new_context(viewport={"width": 1180, "height": 900})
    therapist = desk.new_page()
    therapist.goto(f"{base}/login")
    therapist.fill("#username", "ana")
    therapist.fill("#password", PASSWORD)
    therapist.click("button[type=submit]")
    therapist.goto(f"{base}/clients/{clinic['client_id']}/home")
    therapist.select_option("#f-role", "caregiver")
    therapist.fill("#f-label", "Rosa's phone")
    therapist.click("text=Make an invitation link")
    link = therapist.inner_text("#invitation-link").strip()
    assert link.startswith(f"{base}/me/join/")
    assert therapist.locator(".qr img").get_attribute("src").startswith("data:image/svg+xml")

    # The phone opens the link and chooses a PIN.
    context = chromium.new_context(**PHONE)
    phone = context.new_page()
    phone.set_default_timeout(20_000)
    phone.goto(link)
    phone.fill("#pin", "2580")
    phone.fill("#pin_again", "2580")
    phone.click("text=Start")
    phone.wait_for_url(f"{base}/me")
    assert phone.locator("link[rel=manifest]").get_attribute("href") == "/me/manifest.webmanifest"
    phone.click("text=Evening music")
    phone.wait_for_url(re.compile(r"/me/tasks/\d+$"))
    # The service worker takes control, so the audio is kept for offline use.
    _wait_until(lambda: phone.evaluate("navigator.serviceWorker.controller !== null"))

    # Before-ratings, then real music through Web Audio.
    phone.click("fieldset[data-phase=before][data-code=vas_anxiety] button[data-value='60']")
    phone.click("fieldset[data-phase=before][data-code=mood] button[data-value='4']")
    phone.click("#play")
    _wait_until(lambda: float(phone.get_attribute("#played", "data-seconds")) > 1.5)
    first = float(phone.get_attribute("#task", "data-audio-time"))
    phone.wait_for_timeout(700)
    assert float(phone.get_attribute("#task", "data-audio-time")) > first  # the audio clock advances
    gain, cap = (float(phone.get_attribute("#task", name)) for name in ("data-gain", "data-cap"))
    assert 0 < gain <= cap + 1e-6 and cap == pytest.approx(clinic["cap"], abs=1e-5)
    phone.fill("#volume", "1")  # full volume is still the cap
    phone.dispatch_event("#volume", "input")
    assert float(phone.get_attribute("#task", "data-gain")) <= cap + 1e-6

    # Offline: the completion waits on the phone.
    context.set_offline(True)
    phone.click("fieldset[data-phase=after][data-code=vas_anxiety] button[data-value='30']")
    phone.click("fieldset[data-phase=after][data-code=mood] button[data-value='6']")
    phone.click("#done")
    expect(phone.locator("#sync-status")).to_contain_text("when you are online")
    assert _completions(clinic["factory"]) == 0
    assert phone.evaluate("JSON.parse(localStorage.getItem('cadenza.me.queue')).length") == 1

    # Back online: sent once, even if the phone sends the queue again.
    context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(phone.locator("#sync-status")).to_contain_text("Sent")
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    phone.wait_for_timeout(500)
    assert _completions(clinic["factory"]) == 1
    with session_scope(clinic["factory"]) as db:
        row = db.scalar(select(TaskCompletion))
        assert row.before == {"vas_anxiety": 60.0, "mood": 4.0} and row.after == {"vas_anxiety": 30.0, "mood": 6.0}
        assert row.played_s > 1 and 0 < row.max_gain <= clinic["cap"] + 1e-6
        device_id = row.device_id

    # The therapist revokes the phone: it is refused from then on.
    with session_scope(clinic["factory"]) as db:
        from cadenza.clinic.models import Client, Therapist

        ana = db.scalar(select(Therapist).where(Therapist.username == "ana"))
        records.revoke_device(db, actor=ana, client=db.get(Client, clinic["client_id"]), device_id=device_id)
    phone.goto(f"{base}/me")
    assert phone.url.endswith("/me/start")
    assert "You need" in phone.content() or "link from your therapist" in phone.content()
    context.close()
    desk.close()


def test_a_passkey_instead_of_the_pin_through_chromiums_virtual_authenticator(clinic, chromium):
    chromium = chromium()
    # A passkey is bound to a host name (never an IP address): the phone uses localhost.
    base = clinic["url"].replace("127.0.0.1", "localhost")
    with session_scope(clinic["factory"]) as db:
        from cadenza.clinic.models import Client, Therapist

        ana = db.scalar(select(Therapist).where(Therapist.username == "ana"))
        path = actions.invite(db, actor=ana, client=db.get(Client, clinic["client_id"]), label="Rosa").path
    context = chromium.new_context(**PHONE)
    phone = context.new_page()
    phone.set_default_timeout(20_000)
    cdp = context.new_cdp_session(phone)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})["authenticatorId"]

    phone.goto(base + path)
    phone.click("#passkey-join")
    phone.wait_for_url(f"{base}/me")
    assert "Evening music" in phone.content()
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
    with session_scope(clinic["factory"]) as db:
        device = db.scalar(select(records.PersonDevice).where(records.PersonDevice.passkey_id.is_not(None)))
        assert device is not None and device.pin_hash == ""  # no PIN opens it

    # Locked, it opens with the passkey (no PIN form on a passkey-only phone).
    phone.click("text=Lock")
    phone.wait_for_url(f"{base}/me/unlock")
    assert phone.locator("#pin").count() == 0
    phone.click("#passkey-unlock")
    phone.wait_for_url(f"{base}/me")
    with session_scope(clinic["factory"]) as db:
        assert db.get(records.PersonDevice, device.id).passkey_sign_count >= 1

    # Another authenticator's passkey (a different phone) does not open it.
    phone.click("text=Lock")
    phone.wait_for_url(f"{base}/me/unlock")
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    phone.click("#passkey-unlock")
    expect(phone.locator("#sync-status")).to_contain_text("passkey")
    assert phone.url.endswith("/me/unlock")
    context.close()


def test_mit_practice_records_a_try_from_the_microphone_and_scores_it(clinic, tmp_path, chromium):
    """Chromium's fake microphone plays the intoned phrase; the page records it through the AudioWorklet and the
    server scores it when the completion arrives."""
    import soundfile as sf

    from cadenza.io.speech import espeak_available
    from cadenza.tools.mit import records as mit_records

    if not espeak_available():
        pytest.skip("espeak-ng is not installed (scripts/setup installs it)")
    with session_scope(clinic["factory"]) as db:
        from cadenza.clinic.models import Client, Therapist

        ana = db.scalar(select(Therapist).where(Therapist.username == "ana"))
        client = db.get(Client, clinic["client_id"])
        phrase = mit_records.add_phrase(db, actor=ana, client_id=client.id, text="I want water")
        task = actions.assign_task(db, actor=ana, client=client, kind="mit_practice", title="Say: I want water",
                                   days_per_week=5, minutes=5, ratings=[], phrase_id=phrase.id, mit_level=1)
        policy, calibration = actions.listener(db, client)
        (model, rate), _ = actions.mit_model("I want water", level=1, policy=policy, calibration=calibration)
        path = actions.invite(db, actor=ana, client=client).path
        task_id = task.id
    attempt = tmp_path / "attempt.wav"
    sf.write(attempt, np.concatenate([np.zeros(rate // 4), model[0] / max(1e-9, np.abs(model[0]).max()) * 0.8,
                                      np.zeros(rate * 4)]), rate, subtype="PCM_16")
    base = clinic["url"]
    browser = chromium(["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                        f"--use-file-for-fake-audio-capture={attempt}%noloop"])
    context = browser.new_context(**PHONE)
    phone = context.new_page()
    phone.set_default_timeout(20_000)
    phone.goto(base + path)
    phone.fill("#pin", "2580")
    phone.fill("#pin_again", "2580")
    phone.click("text=Start")
    phone.wait_for_url(f"{base}/me")
    phone.goto(f"{base}/me/tasks/{task_id}")
    phone.click("#record")
    expect(phone.locator("#record-status")).to_contain_text("Recording")
    phone.wait_for_timeout(4500)
    phone.click("#record-stop")
    assert int(phone.get_attribute("#task", "data-attempt-bytes")) > 16000 * 2 * 3  # at least 3 s at 16 kHz
    phone.click("#done")
    expect(phone.locator("#sync-status")).to_contain_text("Sent", timeout=60_000)
    context.close()
    with session_scope(clinic["factory"]) as db:
        row = db.scalar(select(TaskCompletion).where(TaskCompletion.task_id == task_id))
        assert row.scores["attempt_found"] is True, row.scores
        assert row.scores["timing_match_pct"] >= 50

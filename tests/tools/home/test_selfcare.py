"""Self-care mode (``cadenza me``): the person's app with no account, on their own music.

In process: a folder of real music becomes the four playlists with their evidence, the app opens
without a PIN only in self-care mode, a blocked song never plays again, and "delete all my data"
stops the server. The command itself, end to end in Chromium, is in test_selfcare_browser.py.
"""

from __future__ import annotations

import re
import shutil

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from cadenza.tools.home import actions, records, selfcare


@pytest.fixture(scope="module")
def music_folder(tmp_path_factory, request):
    """Eight real excerpts of ../shared/data/music (links, never copies) of different tempi."""
    from pathlib import Path

    source = Path(__file__).resolve().parents[4] / "shared" / "data" / "music" / "audio"
    if not source.is_dir():
        pytest.skip(f"{source} is absent (../shared/data/music)")
    folder = tmp_path_factory.mktemp("my-music")
    for name in sorted(p.name for p in source.glob("*.flac"))[:8]:
        (folder / name).symlink_to(source / name)
    return folder


@pytest.fixture(scope="module")
def _each_excerpt_analysed_once():
    """The excerpts are decoded and analysed on their first scan in this module, and that analysis (a frozen
    ScannedTrack; the analysis is deterministic) is what later scans of the same file, with the same status,
    get back. Every test still scans the folder into its own empty record; what self-care does with the
    scanned library is what these tests are about (the analysis has its own tests in tests/music)."""
    from cadenza.io import library_files

    analyse = library_files.analyze_file
    analysed: dict[tuple, object] = {}

    def analyze_file(path, *, status="new", content_sha256=None):
        key = (str(path), status, content_sha256)
        if key not in analysed:
            analysed[key] = analyse(path, status=status, content_sha256=content_sha256)
        return analysed[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(library_files, "analyze_file", analyze_file)
        yield


@pytest.fixture
def prepared(db_session, music_folder, _each_excerpt_analysed_once):
    ready = selfcare.prepare(db_session, [music_folder], processes=1)
    db_session.commit()
    return ready


def test_the_folder_becomes_playlists_with_their_evidence(db_session, prepared):
    assert prepared.scanned == 8 and prepared.failed == 0
    titles = [task.title for task in prepared.tasks]
    assert "Relax" in titles and "Sleep" in titles
    for task in prepared.tasks:
        assert task.music["track_ids"] and all(0 < g <= 1 for g in task.music["gains"].values())
        entries, caveat = selfcare.evidence_for(task.title)
        assert caveat
    entries, _ = selfcare.evidence_for("Sleep")
    assert entries[0].doi  # the insomnia review is cited with its DOI
    assert selfcare.evidence_for("Focus")[0] == []  # no evidence: said so in the caveat, not invented
    assert "convention" in selfcare.evidence_for("Focus")[1]


def test_preparing_again_rebuilds_the_playlists_and_keeps_one_account(db_session, prepared, music_folder):
    again = selfcare.prepare(db_session, [music_folder], processes=1)
    assert again.scanned == 8
    active = records.client_tasks(db_session, again.client.id, active_only=True)
    assert len(active) == len(prepared.tasks)
    from cadenza.clinic.models import Therapist

    assert db_session.scalars(select(Therapist).where(Therapist.username == selfcare.SELF_ACCOUNT)).all().__len__() == 1


def test_a_missing_folder_is_named(db_session, tmp_path):
    with pytest.raises(Exception, match="music_folder"):
        selfcare.prepare(db_session, [tmp_path / "nowhere"])


def test_the_self_care_link_works_only_in_self_care_mode(web_app, prepared):
    with TestClient(web_app, follow_redirects=False) as browser:
        assert browser.get(f"/me/self/{prepared.link_token}").status_code == 404
        web_app.state.self_care = True
        opened = browser.get(f"/me/self/{prepared.link_token}")
        assert opened.status_code == 303 and opened.headers["location"] == "/me"
        page = browser.get("/me")
        assert page.status_code == 200 and "Relax" in page.text and "Delete all my data" in page.text
        assert "weekly sound dose" in page.text
        assert browser.get(f"/me/self/{prepared.link_token}").status_code == 404  # once


def test_a_blocked_song_never_plays_again(db_session, web_app, prepared):
    web_app.state.self_care = True
    relax = next(t for t in prepared.tasks if t.title == "Relax")
    track_id = relax.music["track_ids"][0]
    with TestClient(web_app, follow_redirects=False) as browser:
        browser.get(f"/me/self/{prepared.link_token}")
        csrf = re.search(r'data-csrf="([^"]+)"', browser.get("/me").text)[1]
        assert browser.get(f"/me/tasks/{relax.id}/tracks/{track_id}").status_code == 200
        assert browser.post(f"/me/tasks/{relax.id}/tracks/{track_id}/block", headers={"x-csrf-token": csrf}).status_code == 200
        assert browser.get(f"/me/tasks/{relax.id}/tracks/{track_id}").status_code == 404
        assert f'data-track="{track_id}"' not in browser.get(f"/me/tasks/{relax.id}").text
    db_session.expire_all()
    rebuilt = selfcare.rebuild_playlists(db_session, selfcare.self_account(db_session), prepared.client)
    assert all(track_id not in t.music["track_ids"] for t in rebuilt)


def test_delete_all_my_data_takes_two_taps_and_stops_the_server(web_app, prepared):
    web_app.state.self_care = True
    asked = []
    web_app.state.forget = lambda: asked.append(True)
    with TestClient(web_app, follow_redirects=False) as browser:
        browser.get(f"/me/self/{prepared.link_token}")
        confirm = browser.get("/me/forget")  # tap one: what will be deleted
        assert confirm.status_code == 200 and "cannot be undone" in confirm.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text)[1]
        assert not asked
        done = browser.post("/me/forget", data={"csrf_token": csrf})  # tap two
        assert done.status_code == 200 and "deleted" in done.text and asked == [True]


def test_forget_is_not_offered_by_a_clinics_app(web_app, prepared, db_session, therapist, client_record):
    invitation = actions.invite(db_session, actor=therapist, client=client_record)
    db_session.commit()
    with TestClient(web_app, follow_redirects=False) as browser:
        page = browser.get(invitation.path)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
        browser.post(invitation.path, data={"csrf_token": csrf, "pin": "2580", "pin_again": "2580"})
        assert browser.get("/me/forget").status_code == 404
        assert "Delete all my data" not in browser.get("/me").text


def test_cadenza_me_help():
    from cadenza.cli.main import app

    result = CliRunner().invoke(app, ["me", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "no account" in result.output and "music_folder" in result.output.lower()

"""Song versions in the record: saved, listed, restored (history kept), audited, other clients' refused."""

import pytest
from sqlalchemy import select

from cadenza.clinic import service
from cadenza.clinic.models import AuditEvent
from cadenza.errors import NotFoundError, ParameterError
from cadenza.tools.songs import actions, records

SPEC = {"key": "G", "mode": "major", "tempo_bpm": 90.0, "beats_per_bar": 3, "progression": ["I", "V"], "theme": "hope"}


def test_versions_are_kept_and_restored(db_session, therapist, client_record):
    first = records.save_version(db_session, actor=therapist, client=client_record, title="Morning",
                                 lines=["Good morning sun", "I see you"], spec=SPEC)
    second = records.save_version(db_session, actor=therapist, client=client_record, title="Morning",
                                  lines=["Good morning sky"], spec=SPEC, song_key=first.song_key)
    assert (first.version, second.version) == (1, 2)
    restored = records.restore_version(db_session, actor=therapist, client=client_record, version_id=first.id)
    assert restored.version == 3 and restored.restored_from_version == 1 and restored.lines == first.lines
    history = records.song_history(db_session, client=client_record, song_key=first.song_key)
    assert [v.version for v in history] == [3, 2, 1]
    assert [s.id for s in records.client_songs(db_session, client=client_record)] == [restored.id]
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.entity == "song_version")).all()
    assert [e.action for e in events] == ["create"] * 3 and {e.client_id for e in events} == {client_record.id}
    song = actions.song_of_version(restored)
    assert [n.lyric for n in song.notes][:2] == ["good", "morn"] and song.spec.beats_per_bar == 3
    six_eight = actions.spec_dict(actions.spec_from_values({"meter": "6/8", "progression": "I V | vi IV"}))
    lilt = records.save_version(db_session, actor=therapist, client=client_record, title="Lilt",
                                lines=["Good morning sun"], spec=six_eight)
    db_session.expire_all()  # read back from the database
    again = actions.song_of_version(records.client_version(db_session, client=client_record, version_id=lilt.id))
    assert (again.spec.time_signature, again.spec.chords_per_bar, again.spec.progression) == \
        ("6/8", 2, ("I", "V", "vi", "IV"))


def test_another_clients_version_is_not_found(db_session, therapist, client_record):
    other = service.create_client(db_session, actor=therapist, code="C099", birth_year=1960)
    theirs = records.save_version(db_session, actor=therapist, client=other, title="Theirs", lines=["la la"], spec=SPEC)
    with pytest.raises(NotFoundError, match="song version"):
        records.restore_version(db_session, actor=therapist, client=client_record, version_id=theirs.id)
    with pytest.raises(NotFoundError, match="song"):
        records.save_version(db_session, actor=therapist, client=client_record, title="x", lines=["y"], spec=SPEC,
                             song_key=theirs.song_key)


@pytest.mark.parametrize(("field", "value"), [("title", "x" * 121), ("title", "a\x00b"), ("lines", "one string"),
                                              ("lines", ["nul\x00"]), ("spec", {"key": "C"}),
                                              ("spec", {**SPEC, "colour": "red"})])
def test_bad_content_is_refused_before_anything_is_stored(db_session, therapist, client_record, field, value):
    entry = {"title": "Song", "lines": ["la"], "spec": SPEC, field: value}
    with pytest.raises(ParameterError, match=field):
        records.save_version(db_session, actor=therapist, client=client_record, **entry)
    assert records.client_songs(db_session, client=client_record) == []

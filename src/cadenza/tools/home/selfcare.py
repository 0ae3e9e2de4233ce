"""Self-care mode: the person's app for one person on their own computer, with no account and no
therapist (``cadenza me [MUSIC_FOLDER]``).

Everything lives in a private folder of its own (a SQLite file and its keys, 0700), the server listens
on this computer only (127.0.0.1), and nothing leaves the machine. The person's music is scanned into a
library of their own; four playlists are built from it as home tasks (relax, sleep, focus, walk), their
own rated songs first, blocked songs never. Each playlist names its evidence and caveat. Ratings before
and after, the weekly sound dose and "delete all my data" work as in the clinic's app.

The record needs an actor for its audit trail: a local account that cannot log in (its password is
random and never shown) stands in for the therapist, and the person's client code is ``me``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadenza.clinic.models import Client, Therapist
from cadenza.errors import ParameterError
from cadenza.tools.home import actions, records

SELF_ACCOUNT = "self-care"
SELF_CODE = "me"
PLAYLIST_MINUTES = 20
# A comfortable everyday walking pace for adults is roughly 100-120 steps a minute; the walk playlist
# aims at the middle (a project convention, said so on the page) until the person sets their own.
WALK_CADENCE_SPM = 110.0
# (goal, title, plain-words instructions, ratings asked, evidence ids, what the evidence does and does not say)
PLAYLISTS: tuple[tuple[str, str, str, list[str], tuple[str, ...], str], ...] = (
    ("relax", "Relax", "Sit or lie comfortably. Let the music slow down with you.", ["vas_anxiety", "mood"],
     ("bradt2013_preoperative", "bradt2016_cancer"),
     "Listening to music lowered anxiety a little in trials before surgery and in cancer care. "
     "It helps alongside care; it is not a treatment for an anxiety disorder."),
    ("sleep", "Sleep", "Play it in bed with the lights low, at a quiet volume.", ["mood"],
     ("jespersen2022_insomnia",),
     "In trials with adults who had insomnia, listening to music at bedtime improved how well people said "
     "they slept. It did not show faster falling asleep or longer sleep measured by devices."),
    ("focus", "Focus", "Play it quietly while you read or work.", ["mood"], (),
     "There is no good trial evidence that music helps focus; this playlist is a project convention "
     "(moderate tempo, steady energy). Stop it if it distracts you."),
    ("walk", "Walk", "Walk with the beat where it is safe. Stop and rest whenever you need to.", ["mood"],
     ("thaut1996_parkinson_ras",),
     "Walking to a beat helped gait in people with Parkinson's disease when a therapist set the tempo. "
     "For everyday walking this playlist only sets a steady pace of about 110 steps a minute (a convention); "
     "it is not a treatment."),
)


@dataclass(frozen=True)
class SelfCare:
    client: Client
    link_token: str  # a one-time link that opens the app in the person's browser
    tasks: list[records.HomeTask]
    scanned: int
    failed: int


def self_account(db: Session) -> Therapist:
    """The local stand-in for a therapist: an account no one can log in to."""
    from cadenza.clinic.accounts import create_therapist

    found = db.scalar(select(Therapist).where(Therapist.username == SELF_ACCOUNT))
    if found is not None:
        return found
    return create_therapist(db, actor=None, username=SELF_ACCOUNT, password=secrets.token_urlsafe(48) + "Aa1!",
                            role="therapist")


def self_client(db: Session, actor: Therapist) -> Client:
    from cadenza.clinic import service

    found = db.scalar(select(Client).where(Client.therapist_id == actor.id, Client.code == SELF_CODE))
    return found if found is not None else service.create_client(db, actor=actor, code=SELF_CODE)


def prepare(db: Session, folders: Iterable[str | Path], *, on_progress: Callable[[int, int, str], None] | None = None,
            on_stored: Callable[[], None] | None = None, processes: int | None = None) -> SelfCare:
    """Scan ``folders`` into the person's library, rebuild the four playlists, and make an opening link."""
    from cadenza.tools.library import actions as library

    folders = [Path(f).expanduser() for f in folders]
    for folder in folders:
        if not folder.is_dir():
            raise ParameterError(f"music_folder must be a folder of music files, got {str(folder)!r}")
    actor = self_account(db)
    client = self_client(db, actor)
    scanned = failed = 0
    if folders:
        scan = library.scan_client_library(db, actor=actor, client_id=client.id, dirs=folders, processes=processes,
                                           on_progress=on_progress, on_stored=on_stored)
        scanned, failed = len(scan.report.tracks), scan.failed
    tasks = rebuild_playlists(db, actor, client)
    invite, token = records.create_invite(db, actor=actor, client=client, role="client", label="this computer")
    return SelfCare(client, token, tasks, scanned, failed)


def rebuild_playlists(db: Session, actor: Therapist, client: Client) -> list[records.HomeTask]:
    """End the previous self-care playlists and build them again from the library as it is now."""
    from cadenza.tools.library import actions as library

    for task in records.client_tasks(db, client.id, active_only=True):
        records.end_task(db, actor=actor, client=client, task_id=task.id)
    made = []
    skipped: list[str] = []
    for goal, title, instructions, ratings, evidence_ids, _ in PLAYLISTS:
        try:
            playlist = library.client_playlist(db, client=client, goal=goal, minutes=PLAYLIST_MINUTES,
                                               cadence_spm=WALK_CADENCE_SPM if goal == "walk" else None)
        except ParameterError as exc:
            skipped.append(f"{title}: {exc}")
            continue  # e.g. too little music for this goal
        track_ids = [int(e.track.track_id) for e in playlist.entries]
        if not track_ids:
            continue
        made.append(actions.assign_task(db, actor=actor, client=client, kind="relaxation" if goal in ("relax", "sleep")
                                        else "listening", title=title, instructions=instructions, days_per_week=7,
                                        minutes=PLAYLIST_MINUTES, ratings=ratings, track_ids=track_ids,
                                        start_date=dt.date.today()))
    return made


def evidence_for(title: str) -> tuple[list[Any], str]:
    """The catalog entries and the plain-words caveat shown with a self-care playlist."""
    from cadenza.evidence.query import get_entry

    for _, name, _, _, evidence_ids, caveat in PLAYLISTS:
        if name == title:
            return [get_entry(i) for i in evidence_ids], caveat
    return [], ""

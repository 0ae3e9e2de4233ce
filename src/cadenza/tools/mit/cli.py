"""``cadenza mit``: Melodic Intonation Therapy: phrases, cues, attempt analysis, the phrase bank and level runs.

The commands parse their options and print; the workflows (cues capped to the listener, refused for NICU
infants; an attempt analysed and kept on a session, never when no attempt was found) are
:mod:`cadenza.tools.mit.actions`, shared with the web page. Heavy libraries are imported inside the
commands so that ``cadenza --help`` stays fast.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cadenza.cli._listener import ListenerOptions, listener_options, print_warnings

app = typer.Typer(help="Melodic Intonation Therapy: phrases, cues, attempt analysis.", no_args_is_help=True)


class Voice(StrEnum):
    MALE = "male"
    FEMALE = "female"


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _note_to_midi(note: str | None) -> float | None:
    """'A2', 'Eb3', 'F#3' or a MIDI number."""
    if note is None:
        return None
    from cadenza.mit.melody import NOTE_NAMES

    text = note.strip()
    if text.replace(".", "", 1).isdigit():
        return float(text)
    names = {n.upper(): i for i, n in enumerate(NOTE_NAMES)} | {"DB": 1, "D#": 3, "GB": 6, "G#": 8, "A#": 10}
    head, octave = text[:-1].upper(), text[-1]
    if head not in names or not octave.isdigit():
        _fail(f"--low-note must be a note name like A2, Eb3, F#3 or a MIDI number, got {note!r}")
    return float(names[head] + 12 * (int(octave) + 1))


def _melody_json(melody) -> dict:
    from cadenza.mit.melody import note_name

    return {
        "phrase": melody.phrase.text,
        "display": melody.phrase.display(),
        "stress_pattern": melody.phrase.stress_pattern,
        "level": melody.level,
        "sprechgesang": melody.sprechgesang,
        "low_note": note_name(melody.low_midi),
        "high_note": note_name(melody.high_midi),
        "guessed_words": list(melody.phrase.guessed_words),
        "notes": [
            {"syllable": n.syllable.text, "word": n.syllable.word, "stressed": n.syllable.stressed,
             "guessed": n.syllable.guessed, "pitch": note_name(n.midi_pitch), "pitch_hz": round(n.pitch_hz, 2),
             "onset_s": round(n.onset_s, 4), "duration_s": round(n.duration_s, 4)}
            for n in melody.notes
        ],
        "tap_times_s": [round(float(t), 4) for t in melody.onset_times_s],
    }


@app.command("phrase")
@listener_options(calibration=False, device_help=None)
def phrase_command(
    text: Annotated[str, typer.Argument(help="The phrase, e.g. \"I want water\" (2-4 syllables to start).")],
    level: Annotated[int, typer.Option("--level", "-l", min=1, max=3, help="MIT level I-III (1-3).")] = 1,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the intoned phrase (WAV/FLAC/OGG): "
                                                "left = voice in words, right = taps.")] = None,
    step: Annotated[str | None, typer.Option(help="Render one protocol step's cue instead (see `cadenza mit "
                                             "levels`), e.g. unison_fading.")] = None,
    hum: Annotated[Path | None, typer.Option(help="Also write the hummed melody (level I) with taps.")] = None,
    midi: Annotated[Path | None, typer.Option(help="Also write the melody, lyrics and taps as a MIDI file.")] = None,
    voice: Annotated[Voice, typer.Option(help="Synthetic voice and range.")] = Voice.MALE,
    low_note: Annotated[str | None, typer.Option(help="Low pitch, e.g. A2 (default A2 male, G3 female).")] = None,
    interval: Annotated[float, typer.Option(help="Interval in semitones (3 = minor third, 4 = major).")] = 3.0,
    question: Annotated[str, typer.Option(help="Probe question for the probe step.")] = "What did you say?",
    recording: Annotated[Path | None, typer.Option(help="Intone your own recording of the phrase (spoken "
                                                   "clearly, syllable by syllable) instead of the synthetic voice.")] = None,
    *,
    listening: ListenerOptions,
) -> None:
    """Set a phrase to the two-pitch MIT melody; print its score and optionally render audio and MIDI.

    Audio is capped to the listener's audio policy (safety flags, calibration) before it is written."""
    from cadenza.errors import CadenzaError
    from cadenza.io.audio import load_audio, save_audio
    from cadenza.io.speech import load_lexicon
    from cadenza.mit.levels import phrase_length_notes
    from cadenza.mit.melody import compose_melody
    from cadenza.mit.syllables import syllabify_phrase
    from cadenza.tools.mit import actions

    listener = listening.resolve()
    policy = listener.policy
    try:
        lexicon = load_lexicon()
        phrase = syllabify_phrase(text, lexicon=lexicon)
        if not phrase.syllables:
            _fail(f"the phrase {text!r} has no words to intone")
        low_midi = _note_to_midi(low_note)
        melody = compose_melody(phrase, level=level, voice=voice.value, low_midi=low_midi,
                                interval_semitones=interval, sprechgesang=level == 3)
        written: dict[str, str] = {}
        if output or hum or step:
            recorded = None
            if recording is not None:
                audio = load_audio(recording, mono=True)
                recorded = (audio.samples, audio.sampling_rate_hz)
            cues = actions.render_cues(text, melody, policy=policy, calibration=listener.calibration, level=level,
                                       model=output is not None, step=step, hum=hum is not None, voice=voice.value,
                                       low_midi=low_midi, interval_semitones=interval, question=question,
                                       lexicon=lexicon, recording=recorded)
            for kind, path in (("audio", output), ("hum", hum)):
                if kind in cues:
                    written[kind] = str(save_audio(path, cues[kind].samples,
                                                   sampling_rate_hz=cues[kind].sampling_rate_hz))
        if midi:
            from cadenza.io.speech import save_midi
            from cadenza.mit.midi import melody_to_midi

            written["midi"] = str(save_midi(midi, melody_to_midi(melody)))
    except CadenzaError as exc:
        _fail(str(exc))
    notes = list(phrase.notes) + list(phrase_length_notes(phrase.n_syllables, level=level))
    if listening.as_json:
        out = _melody_json(melody) | {"notes_for_therapist": notes, "files": written,
                                      "safety_warnings": list(policy.warnings), "safety": listener.as_dict()}
        typer.echo(json.dumps(out))
        return
    typer.echo(melody.to_text())  # includes the phrase's own notes
    for note in phrase_length_notes(phrase.n_syllables, level=level):
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW)
    if written:
        print_warnings(listener, listening.notes)
    else:
        for warning in policy.warnings:
            typer.secho(f"safety: {warning}", fg=typer.colors.YELLOW)
    for kind, path in written.items():
        typer.echo(f"wrote {kind}: {path}")


@app.command("analyse")
def analyse_command(
    attempt: Annotated[Path, typer.Argument(help="Recording of the person's attempt (WAV/FLAC/OGG/MP3).")],
    phrase_text: Annotated[str, typer.Option("--phrase", help="The target phrase.")],
    level: Annotated[int, typer.Option("--level", "-l", min=1, max=3, help="MIT level the attempt was at.")] = 1,
    voice: Annotated[Voice, typer.Option(help="Voice range of the target melody.")] = Voice.MALE,
    low_note: Annotated[str | None, typer.Option(help="Low pitch of the target melody, e.g. A2.")] = None,
    interval: Annotated[float, typer.Option(help="Interval in semitones.")] = 3.0,
    lead_in: Annotated[float, typer.Option(help="Seconds before the first syllable in the target.")] = 0.5,
    tolerance: Annotated[float, typer.Option(help="Timing tolerance in seconds.")] = 0.15,
    session: Annotated[int | None, typer.Option(help="Store the analysis on this therapy session (id) as "
                                                "measurements; needs --as.")] = None,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help="Acting therapist "
                                                "(with --session).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Measure an attempt: syllable onsets against the target rhythm, and the two-pitch pattern."""
    from cadenza.errors import CadenzaError
    from cadenza.io.audio import load_audio
    from cadenza.tools.mit import actions

    try:
        audio = load_audio(attempt, mono=True)
        melody = actions.target_melody(phrase_text, level=level, voice=voice.value, low_midi=_note_to_midi(low_note),
                                       interval_semitones=interval, lead_in_s=lead_in)
        result = actions.analyse_attempt(audio.samples, sampling_rate_hz=audio.sampling_rate_hz, melody=melody,
                                         timing_tolerance_s=tolerance)
    except CadenzaError as exc:
        _fail(str(exc))
    phrase = melody.phrase
    if not result.attempt_found:  # never scored, never stored
        if as_json:
            typer.echo(json.dumps({"phrase": phrase.text, "level": level, "file": str(attempt),
                                   "stored_attempt_id": None} | result.to_dict()))
            raise typer.Exit(1)
        _fail(f"no attempt found in {str(attempt)!r}: {result.attempt_problem}; nothing was scored or stored")
    stored = None
    if session is not None:
        from cadenza.cli._db import run_as

        def keep(db, actor) -> int:
            return actions.record_attempt(db, actor=actor, analysis=result, level=level, session_id=session).stored.id

        stored = run_as(as_user, keep)
    if as_json:
        typer.echo(json.dumps({"phrase": phrase.text, "level": level, "file": str(attempt), "stored_attempt_id": stored}
                              | result.to_dict()))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{phrase.display()}  (level {level})")
    for col in ("syllable", "target", "onset s", "timing err ms", "timing", "pitch Hz", "pitch err c", "pitch"):
        table.add_column(col)
    for s in result.syllables:
        table.add_row(
            s.text, "high" if s.target_high else "low",
            "-" if s.onset_s != s.onset_s else f"{s.onset_s:.2f}",
            "-" if s.timing_error_s != s.timing_error_s else f"{1000 * s.timing_error_s:+.0f}",
            "ok" if s.timing_ok else "OFF",
            "-" if s.pitch_hz != s.pitch_hz else f"{s.pitch_hz:.0f}",
            "-" if s.pitch_error_cents != s.pitch_error_cents else f"{s.pitch_error_cents:+.0f}",
            "ok" if s.pitch_ok else "OFF",
        )
    console = Console()
    console.print(table)
    console.print(f"timing match {100 * result.timing_match:.0f} % (tolerance {1000 * tolerance:.0f} ms, start "
                  f"delay {result.offset_s:+.2f} s); two-pitch pattern "
                  f"{'followed' if result.pitch_pattern_followed else 'NOT followed'} "
                  f"(key {result.transposition_cents:+.0f} cents from target)")
    if stored is not None:
        console.print(f"stored as attempt {stored} on session {session}")


@app.command("levels")
def levels_command(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """The protocol: steps per level, points and what the therapist does."""
    from cadenza.mit.levels import LEVELS, max_points
    from cadenza.mit.scoring import ADVANCEMENT_CAVEAT

    if as_json:
        typer.echo(json.dumps({str(level): {"max_points": max_points(level), "steps": [
            {"code": s.code, "title": s.title, "max_points": s.max_points, "instructions": s.instructions}
            for s in steps]} for level, steps in LEVELS.items()} | {"advancement_caveat": ADVANCEMENT_CAVEAT}))
        return
    for level, steps in LEVELS.items():
        typer.secho(f"Level {'I' * level} (max {max_points(level)} points per phrase)", bold=True)
        for s in steps:
            pts = "not scored" if not s.scored else f"0-{s.max_points}"
            typer.echo(f"  {s.code:<26} {pts:<11} {s.instructions}")
    typer.secho(ADVANCEMENT_CAVEAT, fg=typer.colors.YELLOW)


bank_app = typer.Typer(help="A client's MIT phrase bank in the clinical record.", no_args_is_help=True)
app.add_typer(bank_app, name="bank")
AS_HELP = "Acting therapist's username (or set CADENZA_USER)."


def _client_id(db, actor, code: str) -> int:
    from cadenza.clinic import service

    return service.get_client_by_code(db, actor=actor, code=code).id


@bank_app.command("add")
def bank_add(
    client: Annotated[str, typer.Argument(help="Client code.")],
    text: Annotated[str, typer.Argument(help="The phrase (short, personally relevant).")],
    probe: Annotated[str, typer.Option(help="Probe question, e.g. \"What do you want?\".")] = "",
    note: Annotated[str, typer.Option(help="A note for the therapist.")] = "",
    level: Annotated[int, typer.Option(min=1, max=3, help="Level the phrase starts at.")] = 1,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=AS_HELP)] = None,
) -> None:
    """Add a phrase to a client's bank (syllables and stress are worked out and stored)."""
    from cadenza.cli._db import acting_user, domain_errors, open_db
    from cadenza.tools.mit import records
    from cadenza.mit.levels import phrase_length_notes

    with domain_errors(), open_db() as db:
        actor = acting_user(db, as_user)
        row = records.add_phrase(db, actor=actor, client_id=_client_id(db, actor, client), text=text,
                                     probe_question=probe, note=note, level=level)
        typer.echo(f"Added phrase {row.id}: {row.text!r} ({row.syllable_count} syllables, {row.stress_pattern})")
        if row.guessed_words:
            typer.secho(f"note: syllables guessed for {', '.join(row.guessed_words)}; check them",
                        fg=typer.colors.YELLOW)
        for message in phrase_length_notes(row.syllable_count, level=level):
            typer.secho(f"note: {message}", fg=typer.colors.YELLOW)


@bank_app.command("list")
def bank_list(
    client: Annotated[str, typer.Argument(help="Client code.")],
    all_phrases: Annotated[bool, typer.Option("--all", help="Include retired phrases.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=AS_HELP)] = None,
) -> None:
    """A client's phrase bank, shortest first."""
    from cadenza.cli._db import acting_user, domain_errors, open_db
    from cadenza.tools.mit import records

    with domain_errors(), open_db() as db:
        actor = acting_user(db, as_user)
        rows = records.list_phrases(db, actor=actor, client_id=_client_id(db, actor, client),
                                        active_only=not all_phrases)
        phrases = [{"id": r.id, "text": r.text, "level": r.level, "syllables": r.syllable_count,
                    "stress_pattern": r.stress_pattern, "probe_question": r.probe_question, "active": r.active,
                    "guessed_words": list(r.guessed_words)} for r in rows]
    if as_json:
        typer.echo(json.dumps({"client": client, "phrases": phrases}))
        return
    if not phrases:
        typer.echo(f"No phrases for {client} yet: cadenza mit bank add {client} \"I want water\"")
    for p in phrases:
        typer.echo(f"{p['id']:>4}  L{p['level']}  {p['syllables']:>2} syl  {p['stress_pattern']:<10} {p['text']}"
                   + ("" if p["active"] else "  (retired)"))


@bank_app.command("remove")
def bank_remove(
    phrase_id: Annotated[int, typer.Argument(min=1, help="Phrase id (cadenza mit bank list).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the record's history; 3-500 characters).")],
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=AS_HELP)] = None,
) -> None:
    """Take a phrase added in error out of the bank (kept with the reason, restorable; audited). To pause a
    phrase that is still right, retire it instead."""
    from cadenza.cli._db import run_as
    from cadenza.tools.mit import records

    run_as(as_user, lambda db, actor: records.remove_phrase(db, actor=actor, phrase_id=phrase_id, reason=reason))
    typer.echo(f"Phrase {phrase_id} removed (restore with: cadenza mit bank restore {phrase_id}).")


@bank_app.command("restore")
def bank_restore(
    phrase_id: Annotated[int, typer.Argument(min=1, help="Removed phrase id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (optional).")] = "",
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=AS_HELP)] = None,
) -> None:
    """Bring a removed phrase back into the bank (audited)."""
    from cadenza.cli._db import run_as
    from cadenza.tools.mit import records

    run_as(as_user, lambda db, actor: records.restore_phrase(db, actor=actor, phrase_id=phrase_id, reason=reason))
    typer.echo(f"Phrase {phrase_id} restored.")


run_app = typer.Typer(help="Score a level in a session: start a run, score steps, finish.", no_args_is_help=True)
app.add_typer(run_app, name="run")


@run_app.command("start")
def run_start(
    session: Annotated[int, typer.Argument(help="Therapy session id (record it with `cadenza client session`).")],
    level: Annotated[int, typer.Option("--level", "-l", min=1, max=3, help="MIT level I-III.")] = 1,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=AS_HELP)] = None,
) -> None:
    """Start working through a level in a session; prints the run id and the steps to score."""
    from cadenza.cli._db import acting_user, domain_errors, open_db
    from cadenza.tools.mit import records
    from cadenza.mit.levels import level_steps

    with domain_errors(), open_db() as db:
        actor = acting_user(db, as_user)
        run = records.start_level_run(db, actor=actor, session_id=session, level=level)
        typer.echo(f"Started run {run.id} (level {level}) on session {session}. Steps to score:")
        for s in level_steps(level):
            if s.scored:
                typer.echo(f"  {s.code:<26} 0-{s.max_points}")


@run_app.command("score")
def run_score_step(
    run: Annotated[int, typer.Argument(help="Run id from `cadenza mit run start`.")],
    phrase: Annotated[int, typer.Option(help="Phrase id from `cadenza mit bank list`.")],
    step: Annotated[str, typer.Option(help="Step code, e.g. unison or delayed_repetition.")],
    points: Annotated[int | None, typer.Option(help="Points of this attempt (the best attempt counts).")] = None,
    override: Annotated[int | None, typer.Option(help="Therapist's score for the step, replacing the attempts.")] = None,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=AS_HELP)] = None,
) -> None:
    """Record an attempt's points (or the therapist's override) for one step of one phrase."""
    from cadenza.cli._db import acting_user, domain_errors, fail, open_db
    from cadenza.tools.mit import records

    if points is None and override is None:
        fail("give --points for an attempt or --override for the therapist's score", code=2)
    with domain_errors(), open_db() as db:
        actor = acting_user(db, as_user)
        row = records.record_step(db, actor=actor, run_id=run, phrase_id=phrase, step_code=step,
                                      attempt=points, override=override)
        total = records.run_score(db, actor=actor, run_id=run)
        typer.echo(f"{step}: attempts {row.attempts}, score {row.score}"
                   + (" (override)" if row.override is not None else "")
                   + f"; run so far {total.points}/{total.possible}")


@run_app.command("finish")
def run_finish(
    run: Annotated[int, typer.Argument(help="Run id.")],
    criterion: Annotated[float, typer.Option(help="Advancement criterion in %.")] = 90.0,
    sessions: Annotated[int, typer.Option(help="Consecutive sessions at the criterion.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=AS_HELP)] = None,
) -> None:
    """Close a run: its score goes on the session as `mit_score_pct`; shows whether to advance."""
    from cadenza.cli._db import acting_user, domain_errors, open_db
    from cadenza.tools.mit import records

    with domain_errors(), open_db() as db:
        actor = acting_user(db, as_user)
        row = records.finish_level_run(db, actor=actor, run_id=run)
        decision = records.level_advancement(db, actor=actor, client_id=row.client_id, level=row.level,
                                                 criterion_pct=criterion, consecutive_sessions=sessions)
        out = {"run": row.id, "level": row.level, "points": row.points, "possible": row.possible,
               "score_pct": row.score_pct, "advance": decision.ready, "reason": decision.reason,
               "caveat": decision.caveat}
    if as_json:
        typer.echo(json.dumps(out))
        return
    typer.echo(f"Run {out['run']} (level {out['level']}): {out['points']}/{out['possible']} = {out['score_pct']:.0f} %")
    typer.echo(("Ready to advance: " if out["advance"] else "Not yet: ") + out["reason"])
    typer.secho(out["caveat"], fg=typer.colors.YELLOW)


# One name per thing: `cadenza mit analyze` works too (hidden), as `cadenza gait analyze` does.
app.command("analyze", hidden=True)(analyse_command)

"""Fixtures shared by every test module. Domain-specific fixtures live next to their tests."""

from __future__ import annotations

import functools

import importlib.util
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"

# Files whose tests bound wall-clock time (hang checks, latency, workers starting, an upload child's time limit).
# With every browser test they are marked ``timed``: scripts/test runs them in one process after the rest (which is
# spread over every core), so the load of another worker never fails a time bound.
TIMED_FILES = frozenset({
    "web/test_live_server.py", "web/test_workers.py", "web/test_upload_isolation.py", "io/test_isolated_decode.py",
    "tools/mit/test_pages.py", "tools/home/test_mit_practice.py",
    "web/test_bounded_waits.py",
})
# A single test elsewhere that bounds time or runs writer threads carries ``@pytest.mark.timed`` itself
# (clinic/test_backup.py, web/test_probe_inputs.py): the rest of its file runs in the parallel part.
_TESTS_DIR = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With ``-m timed`` (scripts/test's second part) a test file that cannot hold a timed test is not imported:
    it is not in TIMED_FILES and its text marks nothing ``timed`` or ``browser`` (the two ways a test becomes
    timed, below). Collecting every file only to deselect all but a few of them took ~24 s of that serial part."""
    if config.getoption("markexpr", "") != "timed" or not collection_path.name.startswith("test_") \
            or collection_path.suffix != ".py":
        return None
    try:
        relative = collection_path.resolve().relative_to(_TESTS_DIR).as_posix()
    except ValueError:
        return None
    if relative in TIMED_FILES:
        return None
    text = collection_path.read_text(errors="replace")
    return None if ("mark.timed" in text or "mark.browser" in text) else True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            relative = Path(str(item.path)).resolve().relative_to(_TESTS_DIR).as_posix()
        except ValueError:
            continue
        if relative in TIMED_FILES or item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.timed)


try:  # a Hypothesis deadline is a wall-clock bound too: off, like the others in the parallel part
    from hypothesis import settings as _hypothesis_settings

    # scripts/test (the CI command) draws the same examples on every run, so a red run means a change, never
    # a new draw; targeted runs (plain pytest) keep exploring with fresh draws, and what they find is pinned
    # with @example.
    _hypothesis_settings.register_profile(
        "cadenza", deadline=None, derandomize=os.environ.get("CADENZA_TEST_DERANDOMIZE") == "1")
    _hypothesis_settings.load_profile("cadenza")
except ImportError:  # pragma: no cover - Hypothesis is in the dev extra
    pass


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)


@pytest.fixture(scope="session")
def shared_data() -> Callable[..., Path]:
    """``shared_data("gait", "mobgap_lab")``: a path under ../shared/data, or skip with the reason."""

    def _path(*parts: str) -> Path:
        path = SHARED_DATA_DIR.joinpath(*parts)
        if not path.exists():
            pytest.skip(f"real-data folder {path} is absent; these tests read ../shared/data")
        return path

    return _path


# --- The synthetic walks of the gait science tests (tests/gait/conftest.py), for every folder -------------
# Loaded by path: with --import-mode=importlib one test folder cannot import another.
SCIENCE_CONFTEST = Path(__file__).resolve().parent / "gait" / "conftest.py"


def _science_signals():
    spec = importlib.util.spec_from_file_location("_cadenza_gait_signals", SCIENCE_CONFTEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_signals = _science_signals()


@pytest.fixture
def make_lower_back():
    return _signals.lower_back_signal


@pytest.fixture
def make_walk():
    return _signals.walking_times


@pytest.fixture
def make_insole_walk():
    return _signals.insole_walk


# --- Database fixtures -------------------------------------------------------------------------------
# ``database_url`` is a migrated, empty database private to one test module, once on SQLite and once on
# PostgreSQL (when scripts/test or scripts/with-postgres exported CADENZA_TEST_POSTGRES_URL).
# ``db_session`` runs one test inside a transaction that is rolled back afterwards; service code that
# commits only releases a SAVEPOINT, so tests never see each other's rows.

POSTGRES_URL_ENV = "CADENZA_TEST_POSTGRES_URL"
TEST_PASSWORD = "correct horse battery"


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 at production cost takes ~50 ms a hash; tests use the cheapest profile."""
    from argon2 import PasswordHasher, profiles

    from cadenza.clinic import passwords

    production = passwords.HASHER
    passwords.HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    passwords.HASHER = production


@pytest.fixture(scope="session", autouse=True)
def _fixed_audit_key() -> Iterator[None]:
    """One audit-chain key and one data key for the run (tests that need the key files unset them
    themselves), so PostgreSQL runs do not create key files in the user's data directory."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CADENZA_AUDIT_KEY", "cadenza-test-run-audit-key-0123456789abcdef")
        patch.setenv("CADENZA_DATA_KEY", "0123456789abcdef" * 4)
        yield


@pytest.fixture(scope="session", autouse=True)
def _typer_apps_converted_once() -> Iterator[None]:
    """typer's ``CliRunner.invoke(app, ...)`` converts the Typer app into its click command on every call: for
    ``cadenza`` (every group and tool command, their signatures read one by one) that is most of a short
    command's cost. An app is complete once built (no test adds commands to one it has invoked), so each app's
    command is made on its first invocation and kept for the session; the conversion is typer's own."""
    import weakref

    import typer.testing

    convert = typer.testing._get_command
    converted: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get_command(app):
        if app not in converted:
            converted[app] = convert(app)
        return converted[app]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", get_command)
        yield


def _postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_URL_ENV} is unset; run under scripts/test or scripts/with-postgres for PostgreSQL")
    return url


@contextmanager
def _scratch_postgres_database(*, prefix: str, template: str | None = None) -> Iterator[tuple[str, str]]:
    """A new PostgreSQL database (a copy of ``template`` if given), dropped afterwards: (name, url)."""
    from sqlalchemy.engine import make_url

    from cadenza.clinic.db import make_engine

    base = make_url(_postgres_base_url())
    name = f"{prefix}{uuid.uuid4().hex[:16]}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        yield name, base.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each test module's database is copied from (fast)."""
    from cadenza.clinic.db import migrate

    with _scratch_postgres_database(prefix="cadenza_tpl_") as (name, url):
        migrate(url)
        yield name


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], str]:
    """``migrated_sqlite(path) -> url``: a migrated SQLite record at ``path``, copied from one migrated once per
    test session (migrating takes seconds; a copy takes milliseconds)."""
    import shutil

    from cadenza.clinic.db import make_engine, migrate

    template = tmp_path_factory.mktemp("sqlite_template") / "cadenza.sqlite3"
    engine = make_engine(f"sqlite:///{template}")
    migrate(engine)
    engine.dispose()  # the last connection closes: the WAL is checkpointed into the file

    def _copy(path: Path) -> str:
        shutil.copyfile(template, path)
        os.chmod(path, 0o600)
        return f"sqlite:///{path}"

    return _copy


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from cadenza.clinic.db import migrate

    if request.param == "sqlite":
        url = request.getfixturevalue("migrated_sqlite")(tmp_path_factory.mktemp("db") / "cadenza.sqlite3")
        migrate(url)  # a no-op unless a migration appeared since the template was made
        yield url
        return
    _postgres_base_url()  # skips before the template is made when no server is configured
    template = request.getfixturevalue("_postgres_template")
    with _scratch_postgres_database(prefix="cadenza_t_", template=template) as (_, url):
        migrate(url)  # a no-op unless a migration appeared since the template was made
        yield url


@pytest.fixture(scope="module")
def db_engine(database_url: str) -> Iterator:
    from cadenza.clinic.db import make_engine

    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(db_engine) -> Iterator:
    from cadenza.clinic.db import make_session_factory

    connection = db_engine.connect()
    transaction = connection.begin()
    session = make_session_factory(connection, join_transaction_mode="create_savepoint")()
    try:
        yield session
    finally:
        session.close()
        if transaction.is_active:
            transaction.rollback()
        connection.close()


@pytest.fixture
def make_therapist(db_session):
    """``make_therapist("ana", role="admin")``: a stored, active account (password ``correct horse battery``)."""
    from cadenza.clinic import service

    def _make(username: str = "therapist1", *, role: str = "therapist"):
        return service.create_therapist(db_session, actor=None, username=username, password=TEST_PASSWORD, role=role)

    return _make


@pytest.fixture
def therapist(make_therapist):
    return make_therapist("therapist1")


@pytest.fixture
def client_record(db_session, therapist):
    """A client of ``therapist`` with code ``C001``, born 1950, living with Parkinson's disease."""
    from cadenza.clinic import service

    return service.create_client(
        db_session, actor=therapist, code="C001", birth_year=1950, conditions=["parkinson's disease"]
    )


# --- Web fixtures ------------------------------------------------------------------------------------
# The app runs each request in its own Session on the test's connection, so service commits only
# release SAVEPOINTs and everything a page wrote is rolled back with ``db_session``.


_SHARED_APPS: dict[tuple, tuple] = {}


def shared_app(db_session, settings):
    """The web app on ``db_session``'s connection with ``settings``: built once per backend and settings shape
    (building one costs about 0.25 s, and most tests need one), its state reset to what it was when built,
    then this test's session factory and settings put in. A test that needs its own app calls create_app."""
    from cadenza.clinic.db import make_session_factory
    from cadenza.web.main import create_app

    factory = make_session_factory(db_session.bind, join_transaction_mode="create_savepoint")
    shape = (db_session.bind.dialect.name, settings.max_upload_bytes)
    if shape not in _SHARED_APPS:
        app = create_app(settings, session_factory=factory)
        _SHARED_APPS[shape] = (app, dict(app.state._state), list(app.router.routes))
    app, pristine, routes = _SHARED_APPS[shape]
    app.state._state.clear()
    app.state._state.update(pristine)
    app.router.routes[:] = routes  # a test may add routes (the route-walking authorisation tests do)
    app.openapi_schema = None
    app.state.session_factory = factory
    app.state.settings = settings
    app.dependency_overrides.clear()
    return app


@pytest.fixture
def make_web_app(db_session):
    """``make_web_app(settings)``: :func:`shared_app` on this test's session (for folders' own web_app)."""
    return functools.partial(shared_app, db_session)


@pytest.fixture
def web_app(db_session, tmp_path):
    from cadenza.settings import Settings

    return shared_app(db_session, Settings(database_url="sqlite://", data_dir=tmp_path))


@pytest.fixture
def web_browser(web_app) -> Iterator:
    """A TestClient on ``web_app`` (redirects not followed) with ``.csrf(path)`` and ``.log_in(username)``."""
    import re

    from fastapi.testclient import TestClient

    class Browser(TestClient):
        def csrf(self, path: str) -> str:
            return re.search(r'name="csrf_token" value="([^"]+)"', self.get(path).text).group(1)

        def log_in(self, username: str, password: str = TEST_PASSWORD):
            return self.post("/login", data={"username": username, "password": password,
                                             "csrf_token": self.csrf("/login"), "next": "/"})

    with Browser(web_app, follow_redirects=False) as browser:
        yield browser


@pytest.fixture
def tapping_go(db_session, therapist, client_record):
    """A tapping task of ``client_record`` set by ``therapist`` and one go the person's phone sent with its
    taps 20 ms after each beat: ``(task, device, completion)``; the go's figures are on a client-recorded
    session (``completion.session_id``). Shared by the record, FHIR (tests/clinic/test_fhir_json_schema.py) and web tests of
    client-recorded sessions (tests/tools/home/test_client_recorded.py)."""
    import datetime as dt
    import uuid

    from cadenza.tools.home import actions, records

    task = actions.assign_task(db_session, actor=therapist, client=client_record, kind="tapping", title="Tap along",
                               days_per_week=5, minutes=5, ratings=["mood"],
                               kind_values={"tempo_bpm": "90", "tap_s": "20"})
    device, _ = records.redeem_invite(db_session, token=actions.invite(db_session, actor=therapist,
                                                                       client=client_record).token, pin="2580")
    period_s, lead = 60.0 / 90.0, task.music["lead_in_beats"]
    cues = [3.0 + k * period_s for k in range(task.music["n_beats"])]
    taps = [cue + 0.020 + 0.004 * (k % 3) for k, cue in enumerate(cues) if k >= lead]
    completion, _ = actions.record_completion(db_session, device, {
        "client_uuid": str(uuid.uuid4()), "task_id": task.id, "completed_at": dt.datetime.now(dt.UTC).isoformat(),
        "played_s": 25.0, "max_gain": task.music["gain_cap"], "before": {"mood": 5}, "after": {"mood": 6},
        "result": {"cue_times_s": cues, "tap_times_s": taps}})
    db_session.commit()
    return task, device, completion


# --- The command line ----------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path, monkeypatch, migrated_sqlite):
    """``cli(*args, input=None, user=None)``: run ``cadenza`` as a user would, on a fresh SQLite record under
    tmp_path, with a terminal wide enough that tables are not wrapped; ``user`` becomes CADENZA_USER.

    The record starts as a copy of the session's migrated empty one (a fresh migration holds nothing but the
    revisions, and costs seconds): the first command finds it up to date, as it would after ``cadenza migrate``.
    The data directory is private (0700), as the command makes it."""
    from typer.testing import CliRunner

    from cadenza.cli.main import app
    from cadenza.clinic.db import ensure_private_dir

    ensure_private_dir(tmp_path / "data")
    migrated_sqlite(tmp_path / "data" / "cadenza.sqlite3")
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    monkeypatch.delenv("CADENZA_USER", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def _run(*args, input=None, user=None):
        env = {"COLUMNS": "250"} | ({"CADENZA_USER": user} if user else {})
        return runner.invoke(app, [str(a) for a in args], input=input, env=env)

    return _run


# --- Browser fixtures ----------------------------------------------------------------------------------
# One way to serve the app for a real browser and one way to start Debian's Chromium, for every browser test.

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture
def serve_app() -> Iterator:
    """``serve(app) -> "http://127.0.0.1:PORT"``: the app under uvicorn on a free loopback port, stopped after
    the test."""
    import socket
    import threading
    import time

    import uvicorn

    running = []

    def serve(app) -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 20 s")
            time.sleep(0.05)
        return f"http://127.0.0.1:{port}"

    yield serve
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)


class _SessionChromium:
    """The Playwright driver and the usual browser (no extra arguments), started on first use and kept for the
    test session: starting the driver and launching Chromium cost about a second each time."""

    def __init__(self) -> None:
        self._playwright = None
        self._usual = None

    @property
    def playwright(self):
        if self._playwright is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
        return self._playwright

    def launch(self, extra_args=()):
        return self.playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                               args=[*CHROMIUM_ARGS, *extra_args])

    def usual(self):
        if self._usual is None or not self._usual.is_connected():
            self._usual = self.launch()
        return self._usual

    def stop(self) -> None:
        if self._usual is not None and self._usual.is_connected():
            self._usual.close()
        if self._playwright is not None:
            self._playwright.stop()


@pytest.fixture(scope="session")
def _session_chromium() -> Iterator[_SessionChromium]:
    shared = _SessionChromium()
    yield shared
    shared.stop()


@pytest.fixture
def chromium(request: pytest.FixtureRequest) -> Iterator:
    """``launch(extra_args=()) -> Browser``: headless Debian Chromium (the test skips where it is absent). With no
    arguments it is the session's usual browser: every context the test opened in it (``new_page()`` opens one
    too) is closed after the test, so tests share no cookies or storage. A browser with extra arguments (fake
    microphone files, autoplay) is the test's own and closed after it."""
    import shutil

    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip(f"{CHROMIUM} is absent; scripts/setup installs Debian's chromium")
    shared = request.getfixturevalue("_session_chromium")
    own, usual = [], []

    def launch(extra_args=()):
        if tuple(extra_args):
            own.append(shared.launch(extra_args))
            return own[-1]
        usual.append(shared.usual())
        return usual[-1]

    yield launch
    for browser in own:
        browser.close()
    for browser in {id(b): b for b in usual}.values():
        if browser.is_connected():
            for context in list(browser.contexts):
                context.close()

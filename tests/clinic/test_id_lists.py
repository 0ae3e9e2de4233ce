"""cadenza.clinic.id_lists: a column among a list of ids bound as one parameter, on either database."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from cadenza.clinic import service
from cadenza.clinic.id_lists import in_ids
from cadenza.clinic.models import Client
from cadenza.errors import ParameterError

_CLIENTS_AMONG = select(Client.id).where(in_ids(Client.id, "ids")).order_by(Client.id)


@pytest.mark.parametrize("pick", [lambda ids: ids, lambda ids: ids[:1], lambda ids: [], lambda ids: tuple(ids[1:]),
                                  lambda ids: set(ids[::2]), lambda ids: [*ids, -1, 10**9]])
def test_the_rows_are_those_a_plain_in_list_finds(db_session, therapist, pick):
    ids = sorted(service.create_client(db_session, actor=therapist, code=f"C{n}").id for n in range(5))
    db_session.flush()
    wanted = pick(ids)
    plain = db_session.scalars(select(Client.id).where(Client.id.in_(list(wanted))).order_by(Client.id)).all()
    assert db_session.scalars(_CLIENTS_AMONG, {"ids": wanted}).all() == plain


def test_one_query_text_whatever_the_length_on_postgresql(db_session, therapist):
    ids = [service.create_client(db_session, actor=therapist, code=f"C{n}").id for n in range(4)]
    db_session.flush()
    sent: list[str] = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    engine = db_session.get_bind().engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for n in range(len(ids) + 1):
            assert len(db_session.scalars(_CLIENTS_AMONG, {"ids": ids[:n]}).all()) == n
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(sent) == len(ids) + 1
    assert len(set(sent)) == (1 if engine.dialect.name == "postgresql" else len(ids) + 1)


def test_a_name_that_cannot_be_a_parameter_is_refused():
    with pytest.raises(ParameterError, match="name must be an identifier"):
        in_ids(Client.id, "client ids")

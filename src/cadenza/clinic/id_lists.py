"""A column among a list of ids given at execution as one bound parameter (issue 23).

``column.in_(bindparam("ids", expanding=True))`` is rendered again at every execution with one parameter per
id (on PostgreSQL each with its cast: 50 ids cost about as much CPU as running the statement), and each length
of list is a different query text, which psycopg never prepares. :func:`in_ids` is the same condition written
``column = ANY(:ids::INTEGER[])`` on PostgreSQL (one parameter, an array: one text whatever the length)
and the expanding ``IN`` on other databases. Statements that use it can be built once at import.

>>> from sqlalchemy import column, select, table
>>> from sqlalchemy.dialects import postgresql, sqlite
>>> query = select(table("goal", column("id"))).where(in_ids(column("client_id"), "client_ids"))
>>> print(query.compile(dialect=postgresql.psycopg.dialect()))
SELECT goal.id 
FROM goal 
WHERE client_id = ANY(%(client_ids)s::INTEGER[])
>>> print(query.compile(dialect=sqlite.dialect()))
SELECT goal.id 
FROM goal 
WHERE client_id IN (__[POSTCOMPILE_client_ids])
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Integer, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from cadenza.errors import ParameterError


_ID_ARRAY = ARRAY(Integer)


class InIds(ColumnElement[bool]):
    """``column`` is one of the integer ids bound to ``name`` (a list or tuple, possibly empty)."""

    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it is (no "= 1" where booleans are integers)
    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement), ("name", InternalTraversal.dp_string)]

    def __init__(self, column: Any, name: str) -> None:
        self.column = column
        self.name = name


def in_ids(column: Any, name: str) -> InIds:
    """The condition ``column IN <the ids bound to name>`` (see the module's text)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ParameterError(f"name must be an identifier for a bound parameter, got {name!r}")
    return InIds(column, name)


@compiles(InIds)
def _expanding_in(element: InIds, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column.in_(bindparam(element.name, expanding=True)), **kw)


@compiles(InIds, "postgresql")
def _any_of_array(element: InIds, compiler: Any, **kw: Any) -> str:
    # An integer array: psycopg's dialect casts the parameter (an empty list too), and any sequence is sent as a list.
    ids = bindparam(element.name, type_=_ID_ARRAY)
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(ids, **kw)})"

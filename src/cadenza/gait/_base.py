"""A minimal tpcp-style algorithm base: parameters in ``__init__``, action returns ``self``,
results in trailing-underscore attributes, ``clone()`` drops results."""

from __future__ import annotations

import copy
import inspect
from typing import Any, Self


class Algorithm:
    """Parameters are the keyword arguments of ``__init__``; results end in ``_``."""

    _action_methods: tuple[str, ...] = ()

    def get_params(self) -> dict[str, Any]:
        names = [
            p.name
            for p in inspect.signature(type(self).__init__).parameters.values()
            if p.name != "self" and p.kind is not p.VAR_KEYWORD
        ]
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params: Any) -> Self:
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise TypeError(f"{type(self).__name__} has no parameter {name!r}; has {sorted(valid)}")
            setattr(self, name, value)
        return self

    def clone(self) -> Self:
        """A fresh instance with the same parameters and no results."""
        return type(self)(**copy.deepcopy(self.get_params()))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

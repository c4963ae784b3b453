"""Metadata that cannot be changed by accident without the change reaching the engine.

The engine stores metadata as JSON, so Python only ever sees copies. :class:`Metadata` (what
``Funnel.metadata`` returns) writes top-level assignments and deletions through to the engine;
nested values come back read-only (:class:`FrozenDict`, :class:`FrozenList`), so an edit that
would only change the copy raises ``TypeError`` instead of being silently lost::

    >>> import funnelkit as fk
    >>> f = fk.Funnel(metadata={"owner": "growth"})
    >>> f.metadata["tags"] = ["ads"]
    >>> f.metadata
    {'owner': 'growth', 'tags': ['ads']}
    >>> f.metadata["tags"].append("email")
    Traceback (most recent call last):
    ...
    TypeError: nested metadata is read-only: assign the whole value, e.g. funnel.metadata['tags'] = [...]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from funnelkit import _core

__all__ = ["FrozenDict", "FrozenList", "Metadata", "freeze", "thaw"]

_READ_ONLY = "nested metadata is read-only: assign the whole value, e.g. funnel.metadata['tags'] = [...]"


class FrozenDict(dict[str, Any]):
    """A read-only dict: reads, ``==`` and ``json.dumps`` work as for a dict; changes raise
    ``TypeError``. ``copy()`` gives an ordinary, changeable deep copy."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(_READ_ONLY)

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _read_only

    def copy(self) -> dict[str, Any]:  # a plain dict, not a frozen one
        result: dict[str, Any] = thaw(self)
        return result

    def __copy__(self) -> dict[str, Any]:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return self.copy()

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (self.copy(),))  # pickles as the plain dict it stands for


class FrozenList(list[Any]):
    """A read-only list (see :class:`FrozenDict`)."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(_READ_ONLY)

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = extend = insert = remove = pop = clear = sort = reverse = _read_only

    def copy(self) -> list[Any]:
        result: list[Any] = thaw(self)
        return result

    def __copy__(self) -> list[Any]:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return self.copy()

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (self.copy(),))


def freeze(value: Any) -> Any:
    """``value`` with every dict and list replaced by a read-only one."""
    if isinstance(value, dict):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return FrozenList(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of :func:`freeze`: ordinary dicts and lists, deeply copied."""
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thaw(v) for v in value]
    return value


class Metadata(MutableMapping[str, Any]):
    """A funnel's metadata: reads come from the engine, top-level assignments and deletions
    go to it (values must be JSON-compatible, keys strings), nested values are read-only."""

    __slots__ = ("_core",)

    def __init__(self, core: _core.Funnel) -> None:
        self._core = core

    def __getitem__(self, key: str) -> Any:
        return freeze(self._core.metadata[key])

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be strings, got {type(key).__name__}")
        data = self._core.metadata
        data[key] = thaw(value)
        self._core.metadata = data

    def __delitem__(self, key: str) -> None:
        data = self._core.metadata
        del data[key]
        self._core.metadata = data

    def __iter__(self) -> Iterator[str]:
        return iter(self._core.metadata)

    def __len__(self) -> int:
        return len(self._core.metadata)

    def __contains__(self, key: object) -> bool:
        return key in self._core.metadata

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return self._core.metadata == dict(other)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def copy(self) -> dict[str, Any]:
        """An ordinary dict (a deep copy, detached from the funnel)."""
        return self._core.metadata

    def __repr__(self) -> str:
        return repr(self._core.metadata)

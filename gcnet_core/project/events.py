"""A tiny observer: the annotation session tells its subscribers what changed, with no Qt.

The window, its panels and the controllers subscribe (``events.connect(name, callback)``);
the session emits. Names are fixed when the emitter is made, so a typo fails at once
instead of never being called.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = ["Events"]


class Events:
    """Callbacks by event name, called in the order they were connected."""

    def __init__(self, names: Iterable[str]) -> None:
        self._subscribers: dict[str, list[Callable[..., object]]] = {name: [] for name in names}

    def _list(self, name: str) -> list[Callable[..., object]]:
        try:
            return self._subscribers[name]
        except KeyError:
            raise KeyError(f"no event {name!r}; known: {', '.join(sorted(self._subscribers))}") from None

    def connect(self, name: str, callback: Callable[..., object]) -> None:
        """Call ``callback(*args)`` each time ``name`` is emitted."""
        self._list(name).append(callback)

    def disconnect(self, name: str, callback: Callable[..., object]) -> None:
        subscribers = self._list(name)
        if callback in subscribers:
            subscribers.remove(callback)

    def emit(self, name: str, *args: object) -> None:
        for callback in list(self._list(name)):
            callback(*args)

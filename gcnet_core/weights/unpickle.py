"""A restricted unpickler for checkpoints written by people's own training runs.

mmengine's Runner and mmcv 1.x save more than weights: ``message_hub`` holds mmengine
``HistoryBuffer`` objects, ``meta`` numpy scalars, ``optimizer`` and ``param_schedulers``
their states. torch's ``weights_only`` loader refuses all of them. This loader still never
imports a module named in the file and never calls anything outside a fixed list of
data-building functions:

* torch's own weights-only allowlist (tensor and storage rebuilding, dtypes, ``OrderedDict``),
  minus the two entries that call a class given by the file (``_rebuild_from_type_v2``,
  ``_rebuild_wrapper_subclass``);
* numpy's array, dtype and scalar reconstruction, which only builds data.

``getattr`` only works on placeholders (pickled bound methods). Any other global becomes a
*placeholder class* that is neither imported nor looked up.
Pickle creates plain instances with ``NEWOBJ`` (``cls.__new__``) and fills them with
``BUILD``: a placeholder accepts both and keeps the data inert. A ``REDUCE`` calls the global
(that is what ``__reduce__`` payloads such as ``os.system`` do): calling a placeholder raises
:class:`RefusedCall`, before anything runs. :func:`plain_data` then drops the placeholders, so
only tensors and plain values leave this module.
"""

from __future__ import annotations

import _compat_pickle
import importlib
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["RefusedCall", "Placeholder", "load_restricted", "plain_data"]


class RefusedCall(pickle.UnpicklingError):
    """The pickle wants to call ``name``, which is not a data-building function."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"the file calls {name}, which is not allowed")


class _PlaceholderType(type):
    """Metaclass of placeholders: calling the class (pickle's REDUCE, INST, OBJ) is refused."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise RefusedCall(cls.qualified_name)


class Placeholder(metaclass=_PlaceholderType):
    """An instance of a class the file names but we never import: its data, kept inert."""

    qualified_name = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> "Placeholder":
        obj = object.__new__(cls)
        object.__setattr__(obj, "_inert", {"args": args, "state": None, "items": [], "mapping": {}})
        return obj

    def __setstate__(self, state: Any) -> None:  # BUILD
        self._inert["state"] = state

    def __setitem__(self, key: Any, value: Any) -> None:  # SETITEMS of a dict subclass
        self._inert["mapping"][key] = value

    def append(self, value: Any) -> None:  # APPENDS of a list subclass
        self._inert["items"].append(value)

    def extend(self, values: Any) -> None:
        self._inert["items"].extend(values)

    def __repr__(self) -> str:
        return f"<not loaded: {self.qualified_name}>"


def _placeholder(module: str, name: str) -> type:
    return _PlaceholderType(name.rpartition(".")[2] or "Placeholder", (Placeholder,),
                            {"qualified_name": f"{module}.{name}", "__module__": "gcnet_core.weights.unpickle"})


def _inert_getattr(obj: Any, name: str) -> Any:
    """``getattr`` as pickles use it for bound methods (mmengine's HistoryBuffer keeps some):
    allowed on placeholders only, where it gives another placeholder; refused on anything real."""
    owner = obj if isinstance(obj, type) and issubclass(obj, Placeholder) else type(obj)
    if isinstance(owner, type) and issubclass(owner, Placeholder) and isinstance(name, str):
        return _placeholder(owner.qualified_name, name)
    raise RefusedCall("getattr")


def _reconstructor(cls: Any, base: Any, state: Any = None) -> Any:
    """``copyreg._reconstructor`` (protocols 0 and 1) for placeholder classes only."""
    if isinstance(cls, type) and issubclass(cls, Placeholder) and base is object:
        return cls.__new__(cls)
    raise RefusedCall("copyreg._reconstructor")


def _numpy_globals() -> dict[str, Any]:
    try:  # numpy 2 (numpy 1.26 has a numpy._core without multiarray)
        multiarray = importlib.import_module("numpy._core.multiarray")
    except ImportError:
        multiarray = importlib.import_module("numpy.core.multiarray")
    found = {"numpy.ndarray": np.ndarray, "numpy.dtype": np.dtype}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):  # numpy 1.x and 2.x names
        found[f"{module}.scalar"] = multiarray.scalar
        found[f"{module}._reconstruct"] = multiarray._reconstruct
    for name in dir(getattr(np, "dtypes", None) or ()):  # numpy.dtypes.Float64DType & co.
        value = getattr(np.dtypes, name)
        if isinstance(value, type) and issubclass(value, np.dtype):
            found[f"numpy.dtypes.{name}"] = value
    return found


def _allowed_globals() -> dict[str, Any]:
    from torch import _weights_only_unpickler  # torch's weights-only allowlist

    allowed = dict(_weights_only_unpickler._get_allowed_globals())
    for calls_a_given_class in ("torch._tensor._rebuild_from_type_v2", "torch._utils._rebuild_wrapper_subclass"):
        allowed.pop(calls_a_given_class, None)
    allowed.update(_numpy_globals())
    allowed["copyreg._reconstructor"] = _reconstructor
    allowed["builtins.getattr"] = _inert_getattr
    allowed["builtins.frozenset"] = frozenset
    allowed["builtins.slice"] = slice
    allowed["builtins.range"] = range
    return allowed


_ALLOWED: dict[str, Any] | None = None


class Unpickler(pickle.Unpickler):
    """``find_class`` answers from the allowlist or with a placeholder; it never imports."""

    def find_class(self, module: str, name: str) -> Any:
        global _ALLOWED
        if _ALLOWED is None:
            _ALLOWED = _allowed_globals()
        if (module, name) in _compat_pickle.NAME_MAPPING:  # protocol 2 names of Python 2 (no import)
            module, name = _compat_pickle.NAME_MAPPING[module, name]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        found = _ALLOWED.get(f"{module}.{name}")
        return found if found is not None else _placeholder(module, name)


def load(file: Any, **kwargs: Any) -> Any:
    """``pickle.load`` through :class:`Unpickler` (torch.load calls it for the legacy header)."""
    return Unpickler(file, **kwargs).load()


def loads(data: bytes, **kwargs: Any) -> Any:
    return Unpickler(io.BytesIO(data), **kwargs).load()


class _PickleModule:
    """What ``torch.load(pickle_module=...)`` needs: ``Unpickler`` and ``load``."""

    Unpickler = Unpickler
    load = staticmethod(load)
    loads = staticmethod(loads)
    UnpicklingError = pickle.UnpicklingError
    __name__ = "gcnet_core.weights.unpickle"


def load_restricted(path: str | Path) -> Any:
    """Unpickle a torch file (zip or legacy) on the CPU with the restricted unpickler.

    Raises :class:`RefusedCall` when the file would call something; torch's own errors for
    files that are no checkpoint at all pass through.
    """
    obj = torch.load(path, map_location="cpu", weights_only=False, pickle_module=_PickleModule)
    return plain_data(obj)


_DROP = object()


def plain_data(obj: Any) -> Any:
    """Tensors and plain values only: placeholders are dropped, numpy scalars become Python's."""
    result = _plain(obj, set())
    return None if result is _DROP else result


def _plain(obj: Any, seen: set[int]) -> Any:
    if isinstance(obj, (Placeholder, type)) or (callable(obj) and not isinstance(obj, torch.Tensor)):
        return _DROP
    if isinstance(obj, np.generic):
        return obj.item()
    if not isinstance(obj, (dict, list, tuple, set, frozenset)):
        return obj
    if id(obj) in seen:  # a cycle (only possible through placeholders' data): cut it
        return _DROP
    seen = seen | {id(obj)}
    if isinstance(obj, dict):
        kept = {k: v for k, v in ((k, _plain(v, seen)) for k, v in obj.items())
                if v is not _DROP and not isinstance(k, Placeholder)}
        return kept if type(obj) is dict else type(obj)(kept)  # OrderedDict stays one
    values = [v for v in (_plain(v, seen) for v in obj) if v is not _DROP]
    if isinstance(obj, list):
        return values
    return tuple(values) if isinstance(obj, tuple) and type(obj) is not torch.Size else type(obj)(values)

"""mmsegmentation itself, when it is installed, for timing and comparison (``gcnet benchmark
--mmseg``). Nothing here re-implements mmseg: its model is built from the official 1.x
config shipped inside the mmsegmentation wheel and loads the same checkpoint file as ours.

``mmcv-lite`` (the pip-installable mmcv) has no compiled ops; GCNet needs none, so an empty
``mmcv.ops`` is registered before mmseg is imported (calling any of its ops raises).
"""

from __future__ import annotations

import copy
import importlib.util
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import torch

_OPS_SUBMODULES = ("multi_scale_deform_attn", "point_sample", "sync_bn", "focal_loss")


class _StubOps(types.ModuleType):
    """Stands in for ``mmcv.ops`` (and its submodules): any attribute is a function that raises."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        qualname = f"{self.__name__}.{name}"

        def unavailable(*args, **kwargs):
            raise RuntimeError(f"{qualname} is not available: mmcv-lite has no compiled ops")

        unavailable.__name__ = name
        return unavailable


def mmseg_available() -> bool:
    return importlib.util.find_spec("mmseg") is not None and importlib.util.find_spec("mmcv") is not None


def install_mmcv_ops_stub() -> None:
    """Register an empty ``mmcv.ops`` (plus the submodules mmcv/mmseg import) unless a real
    one (full mmcv with compiled ops) is importable."""
    if isinstance(sys.modules.get("mmcv.ops"), _StubOps):
        return
    try:
        if importlib.util.find_spec("mmcv.ops") is not None:
            import mmcv.ops  # noqa: F401  (full mmcv: use its real ops)
            return
    except Exception:  # mmcv-lite: the package is there, its ops are not
        pass
    ops = _StubOps("mmcv.ops")
    ops.__path__ = []  # a package, so ``import mmcv.ops.x`` looks in sys.modules
    sys.modules["mmcv.ops"] = ops
    for sub in _OPS_SUBMODULES:
        sys.modules[f"mmcv.ops.{sub}"] = _StubOps(f"mmcv.ops.{sub}")
    try:
        import mmcv
        mmcv.ops = ops
    except ImportError:
        pass


def import_mmseg():
    """Import mmseg with the stub in place, its registries ready; returns the module."""
    install_mmcv_ops_stub()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mmseg
        import mmseg.apis  # noqa: F401  (registers models and transforms)
        import mmseg.models  # noqa: F401
    from mmengine.registry import init_default_scope
    init_default_scope("mmseg")
    return mmseg


def config_path(name: str) -> Path:
    """The official 1.x config of a zoo entry, shipped inside the mmsegmentation wheel."""
    mmseg = import_mmseg()
    path = Path(mmseg.__file__).parent / ".mim" / "configs" / "gcnet" / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"mmsegmentation ships no config {path}")
    return path


def _sync_bn_to_bn(node):
    if isinstance(node, dict):
        if node.get("type") == "SyncBN":
            node["type"] = "BN"
        for value in node.values():
            _sync_bn_to_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _sync_bn_to_bn(value)


def load_config(name: str):
    """mmengine ``Config`` of a zoo entry (1.x name), with SyncBN replaced by BN (the same
    thing in eval mode; SyncBN needs a process group)."""
    import_mmseg()
    from mmengine import Config
    cfg = Config.fromfile(str(config_path(name)))
    model_cfg = cfg.model.to_dict() if hasattr(cfg.model, "to_dict") else copy.deepcopy(cfg.model)
    _sync_bn_to_bn(model_cfg)
    cfg.model = model_cfg
    return cfg


def build_mmseg_model(name: str, checkpoint: str | Path | None = None, device: str = "cpu"):
    """mmseg's own ``init_model`` on the official config, in eval mode."""
    import_mmseg()
    from mmseg.apis import init_model
    cfg = load_config(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = init_model(cfg, str(checkpoint) if checkpoint is not None else None, device=device)
    return model.eval()


def prepare_inputs(model, image_rgb: np.ndarray):
    """mmseg's test pipeline applied to one image (BGR, as mmseg reads files): the ``data``
    that ``model.test_step`` takes. Runs outside any timing, like a data loader."""
    from mmseg.apis.utils import _preprare_data
    data, _ = _preprare_data(np.ascontiguousarray(image_rgb[:, :, ::-1]), model)
    return data


@torch.no_grad()
def predict_labels(model, data) -> np.ndarray:
    """``test_step`` (preprocessor, whole/slide inference, resize back, argmax), labels to the CPU."""
    return model.test_step(data)[0].pred_sem_seg.data[0].cpu().numpy()

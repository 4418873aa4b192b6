"""Import this module to register every owp module in MMDetection's registries.

Configs do it with ``custom_imports = dict(imports=['owp.registration'])`` (once,
in ``configs/_base_/default_runtime.py``); entry points that build models,
datasets or metrics from configs import it themselves. It also installs
owp's safe checkpoint loader (:mod:`owp.engine.checkpoint`) and the CPU DDP shim
(:mod:`owp.engine.distributed`).

``import owp`` alone stays light (no torch, mmengine or mmdet), so that
results-file evaluation (``scripts/eval_novel.sh --ann ... --results ...``)
needs numpy only.
"""
# Side-effect imports: each registers its modules (MODELS, DATASETS, METRICS,
# OPTIM_WRAPPER_CONSTRUCTORS, HOOKS); owp.engine also installs owp's safe local
# checkpoint loader and the CPU DDP shim.
from . import engine  # noqa: F401
from .datasets import split_datasets  # noqa: F401  (CheckedCocoDataset, OWPCocoDataset, OWPLVISV1Dataset)
from .evaluation import metrics  # noqa: F401  (OWPRecallMetric, OWPScoreDump)
from .models import dense_heads, roi_heads  # noqa: F401  (OWPFCOSHead, OLN*Head)

__all__ = []

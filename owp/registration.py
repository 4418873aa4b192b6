"""Import this module to register every owp module in MMDetection's registries.

Configs do it with ``custom_imports = dict(imports=['owp.registration'])`` (once,
in ``configs/_base_/default_runtime.py``); entry points that build models,
datasets or metrics from configs import it themselves. It also makes
mmengine's checkpoint loading work on torch >= 2.6 (:mod:`owp.engine.checkpoint`).

``import owp`` alone stays light (no torch, mmengine or mmdet), so that
results-file evaluation (``scripts/eval_novel.sh --ann ... --results ...``)
needs numpy only.
"""
# Side-effect imports: each registers its modules (MODELS, DATASETS, METRICS,
# OPTIM_WRAPPER_CONSTRUCTORS); owp.engine also re-registers mmengine's local
# checkpoint loader.
from . import engine  # noqa: F401
from .analysis import score_dump  # noqa: F401  (OWPScoreDump)
from .datasets import split_datasets  # noqa: F401  (OWPCocoDataset, OWPLVISV1Dataset)
from .evaluation import metrics  # noqa: F401  (OWPRecallMetric)
from .models import dense_heads  # noqa: F401  (OWPFCOSHead)

__all__ = []

from importlib import import_module

from .functional import class_agnostic_recall, recall_from_arrays
from .functional.ap import base_class_ap
from .functional.lvis_ap import lvis_federated_ap
from .functional.protocols import evaluate_proposals
from .functional.results import results_to_arrays, validate_results

# Loaded on first access (PEP 562): the metric imports mmengine and mmdet, which
# results-file evaluation never needs. owp.registration imports it (registers
# OWPRecallMetric in mmdet's METRICS).
_LAZY = {'OWPRecallMetric': '.metrics', 'OWPScoreDump': '.metrics'}

__all__ = ['OWPRecallMetric', 'OWPScoreDump', 'base_class_ap', 'class_agnostic_recall', 'evaluate_proposals',
           'lvis_federated_ap', 'recall_from_arrays', 'results_to_arrays', 'validate_results']


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

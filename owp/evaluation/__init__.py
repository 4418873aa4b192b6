from .functional import class_agnostic_recall, recall_from_arrays
from .functional.lvis_ap import lvis_federated_ap
from .functional.proposals import (
    base_class_ap,
    evaluate_proposals,
    results_to_arrays,
    validate_results,
)
from .metrics import OWPRecallMetric

__all__ = ['OWPRecallMetric', 'base_class_ap', 'class_agnostic_recall', 'evaluate_proposals',
           'lvis_federated_ap', 'recall_from_arrays', 'results_to_arrays', 'validate_results']

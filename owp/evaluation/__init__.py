from .functional import class_agnostic_recall
from .functional.proposals import base_class_ap, evaluate_proposals, validate_results
from .metrics import OWPRecallMetric

__all__ = ['OWPRecallMetric', 'base_class_ap', 'class_agnostic_recall', 'evaluate_proposals',
           'validate_results']

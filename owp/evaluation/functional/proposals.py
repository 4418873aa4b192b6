"""Proposal evaluation: the names this module held before the package was split by job.

A thin re-export, kept so that existing imports work. The code lives in
:mod:`.constants`, :mod:`.results` (validation), :mod:`.ground_truth`,
:mod:`.protocols` (:func:`evaluate_proposals`) and :mod:`.ap` (base AP).
"""
from .ap import base_class_ap
from .constants import AUC_AR1_ZERO_KEY, OLN_MAX_DETS, PROTOCOLS, SUBSETS
from .ground_truth import GroundTruth
from .protocols import evaluate_proposals, ks_beyond_proposals
from .results import results_to_arrays, validate_results

#: The name :class:`~.ground_truth.GroundTruth` had here.
_GroundTruth = GroundTruth

__all__ = ['PROTOCOLS', 'SUBSETS', 'OLN_MAX_DETS', 'AUC_AR1_ZERO_KEY', 'validate_results',
           'results_to_arrays', 'evaluate_proposals', 'base_class_ap', 'ks_beyond_proposals']

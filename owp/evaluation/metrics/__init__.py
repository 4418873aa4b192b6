# Importing these modules registers OWPRecallMetric and OWPScoreDump in mmdet's METRICS.
from .owp_recall_metric import OWPRecallMetric
from .owp_score_dump import SCORE_COMPONENTS, OWPScoreDump, best_iou, load_score_dump

__all__ = ['OWPRecallMetric', 'OWPScoreDump', 'SCORE_COMPONENTS', 'best_iou', 'load_score_dump']

# Importing owp_recall_metric registers OWPRecallMetric in mmdet's METRICS.
from .owp_recall_metric import OWPRecallMetric

__all__ = ['OWPRecallMetric']

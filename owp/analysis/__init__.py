# Importing score_dump registers OWPScoreDump in mmdet's METRICS.
from .plots import plot_score_histograms, proposal_groups
from .score_dump import OWPScoreDump, box_iou_xyxy, load_score_dump
from .tables import recall_table, to_markdown

__all__ = ['OWPScoreDump', 'box_iou_xyxy', 'load_score_dump', 'plot_score_histograms',
           'proposal_groups', 'recall_table', 'to_markdown']

# Importing score_dump registers OWPScoreDump in mmdet's METRICS.
from .objectness_maps import objectness_maps, plot_objectness_maps
from .plots import plot_score_histograms, proposal_groups
from .score_dump import OWPScoreDump, box_iou_xyxy, load_score_dump
from .tables import recall_table, to_markdown

__all__ = ['OWPScoreDump', 'box_iou_xyxy', 'load_score_dump', 'objectness_maps',
           'plot_objectness_maps', 'plot_score_histograms', 'proposal_groups', 'recall_table',
           'to_markdown']

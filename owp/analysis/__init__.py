from ..evaluation.functional.score_dump_io import load_score_dump
from .curves import (
    figure6_grid,
    figure6_lines,
    figure6_references,
    find_scalars_files,
    gain_over_last,
    loss_change,
    plot_curves,
    plot_figure6,
    read_scalars,
    run_settings,
    score_labels,
    seed_bands,
    study_scalars,
)
from .gallery import gallery_table, novel_hits, plot_gallery, proposals_gallery
from .objectness_maps import (
    compare_objectness_maps,
    fuse_levels,
    gt_boxes,
    load_detector,
    objectness_maps,
    pick_images,
    plot_objectness_maps,
)
from .plots import plot_score_histograms, proposal_groups
from .recall_curves import (
    auc_of_curve,
    plot_recall_by_size,
    plot_recall_curves,
    recall_by_size,
    recall_curve,
    recall_curves,
    recall_runs,
    recall_tables,
)
from .runs import find_runs, find_score_dumps, study_rows
from .style import PALETTE, row_colors, row_name, save_figure
from .tables import recall_table, to_markdown

__all__ = ['PALETTE', 'auc_of_curve', 'compare_objectness_maps', 'figure6_grid',
           'figure6_lines', 'figure6_references', 'find_runs', 'find_scalars_files',
           'find_score_dumps',
           'fuse_levels', 'gain_over_last', 'gallery_table', 'gt_boxes', 'load_detector',
           'load_score_dump', 'loss_change', 'novel_hits', 'objectness_maps', 'pick_images',
           'plot_curves', 'plot_figure6', 'plot_gallery', 'plot_objectness_maps',
           'plot_recall_by_size', 'plot_recall_curves', 'plot_score_histograms',
           'proposal_groups', 'proposals_gallery', 'read_scalars', 'recall_by_size',
           'recall_curve', 'recall_curves', 'recall_runs', 'recall_table', 'recall_tables',
           'row_colors', 'row_name', 'run_settings', 'save_figure', 'score_labels',
           'seed_bands', 'study_rows', 'study_scalars', 'to_markdown']

#: Names that moved out of owp.analysis: still importable from here for one
#: release, with a DeprecationWarning.
_MOVED = {'OWPScoreDump': 'owp.evaluation.metrics.OWPScoreDump (give it a split)',
          'box_iou_xyxy': 'owp.evaluation.functional.box_iou_xywh (xywh boxes)'}


def __getattr__(name: str):
    if name not in _MOVED:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    import importlib
    import warnings
    warnings.warn(f'owp.analysis.{name} is deprecated and will be removed in the next release; '
                  f'use {_MOVED[name]}', DeprecationWarning, stacklevel=2)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        module = importlib.import_module('owp.analysis.score_dump')
    return getattr(module, name)

"""Names and numbers shared by the evaluator, its metrics and the CLI (numpy only).

Import them from here; do not restate them. ``owp.tools.eval_novel`` reads this
module to parse its command line, so it must stay free of torch and mmdet.
"""
import numpy as np

__all__ = ['IOU_THRS', 'UNMATCHED', 'AREA_RANGES', 'AUC_MAX_DETS', 'PROTOCOLS', 'SUBSETS',
           'OLN_MAX_DETS', 'AUC_AR1_ZERO_KEY']

#: COCO's IoU thresholds, 0.50:0.05:0.95 (pycocotools' ``Params.iouThrs``).
IOU_THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
#: Rank of the 'proposal' that took an unmatched target: larger than any k.
UNMATCHED = np.iinfo(np.int64).max
#: pycocotools' area ranges (``Params.areaRng``), on the ``area`` field.
AREA_RANGES = {'all': (0 ** 2, 1e5 ** 2), 's': (0 ** 2, 32 ** 2), 'm': (32 ** 2, 96 ** 2),
               'l': (96 ** 2, 1e5 ** 2)}
#: The k of the AUC that OLN, GGN and GOOD report (OLN's ``tools/compute_auc.py``).
AUC_MAX_DETS = (1, 10, 30, 50, 100, 300, 500, 1000)

#: 'remove': pycocotools on the subset's boxes alone (the paper's protocol).
#: 'ignore': OLN's cross-category protocol (``COCOEvalXclassWrapper``), exactly.
#: 'prefilter': owp's former 'ignore' rule (see :func:`~.protocols.evaluate_proposals`).
PROTOCOLS = ('remove', 'ignore', 'prefilter')
#: Which classes of a split are recall targets.
SUBSETS = ('novel', 'base', 'all')
#: OLN's k list (``proposal_nums`` of its ``CocoSplitDataset.evaluate``).
OLN_MAX_DETS = (10, 20, 30, 50, 100, 300, 500, 1000, 1500)
#: Key of the AUC with AR@1 set to 0, as in OLN's published 24.8.
AUC_AR1_ZERO_KEY = 'AUC(AR@1=0)'

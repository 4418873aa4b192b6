"""OLNRoIHead: OLN-Box (Kim et al., "Learning Open-World Object Proposals without
Learning to Classify", sec. 3.2; OLN's ``OlnRoIHead``) on MMDetection 3's
``StandardRoIHead``: it trains the IoU score of :class:`OLNBBoxHead` and scores each
box by the geometric mean of the RPN's centerness and that IoU score.

With ``loss_cls`` weight 0 (OLN-Box) the classifier is never trained; with
weight 1 on the base classes it is "OLN with classification" (the paper's
OWP-aware row), scored ``logits*sqrt(centerness*iou)``.
"""
import copy
from typing import List, Tuple

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import ConfigType, InstanceList
from torch import Tensor

from ..utils.oln import OLN_SCORE_MODES
from .bbox_heads import OLNBBoxHead

__all__ = ['OLNRoIHead']


@MODELS.register_module()
class OLNRoIHead(StandardRoIHead):
    """``StandardRoIHead`` for :class:`OLNBBoxHead`: trains its IoU score and
    scores boxes with it and the RPN's objectness.

    ``test_cfg`` (``model.test_cfg.rcnn``) takes ``score_mode``: one of
    ``OLN_SCORE_MODES``; ``'logits*...'`` needs a trained classifier.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.bbox_head, OLNBBoxHead):
            raise TypeError(f'OLNRoIHead: bbox_head must be an OLNBBoxHead, got '
                            f'{type(self.bbox_head).__name__}')
        mode = (self.test_cfg or {}).get('score_mode', 'sqrt(centerness*iou)')
        if mode not in OLN_SCORE_MODES:
            raise ValueError(f'OLNRoIHead: test_cfg.score_mode={mode!r} (model.test_cfg.rcnn): '
                             f'expected one of {list(OLN_SCORE_MODES)}')
        if mode.startswith('logits*') and not self.bbox_head.with_cls_loss:
            raise ValueError(f'OLNRoIHead: test_cfg.score_mode={mode!r} scores with the class '
                             f'probability, but bbox_head.loss_cls has loss_weight 0 (OLN-Box: '
                             f'the classifier is never trained); use "sqrt(centerness*iou)" or '
                             f'train the classifier (OLN with classification)')

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList) -> dict:
        """``StandardRoIHead.loss``; a one-class box head (OLN-Box) learns every
        ground-truth box as class 0, 'object' (OLN's class-agnostic dataset)."""
        if self.bbox_head.num_classes == 1:
            batch_data_samples = copy.deepcopy(batch_data_samples)
            for sample in batch_data_samples:
                sample.gt_instances.labels = torch.zeros_like(sample.gt_instances.labels)
        return super().loss(x, rpn_results_list, batch_data_samples)

    def _bbox_forward(self, x: Tuple[Tensor], rois: Tensor) -> dict:
        """``StandardRoIHead._bbox_forward`` plus ``bbox_score`` (R, 1) logits."""
        bbox_feats = self.bbox_roi_extractor(x[:self.bbox_roi_extractor.num_inputs], rois)
        if self.with_shared_head:
            bbox_feats = self.shared_head(bbox_feats)
        cls_score, bbox_pred, bbox_score = self.bbox_head(bbox_feats)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_score=bbox_score,
                    bbox_feats=bbox_feats)

    def bbox_loss(self, x: Tuple[Tensor], sampling_results: List[SamplingResult]) -> dict:
        """``StandardRoIHead.bbox_loss`` plus ``loss_bbox_score``."""
        bbox_results = super().bbox_loss(x, sampling_results)
        bbox_results['loss_bbox'].update(self.bbox_head.loss_bbox_score_by_feat(
            bbox_results['bbox_score'], sampling_results))
        return bbox_results

    def predict_bbox(self,
                     x: Tuple[Tensor],
                     batch_img_metas: List[dict],
                     rpn_results_list: InstanceList,
                     rcnn_test_cfg: ConfigType,
                     rescale: bool = False) -> InstanceList:
        """Boxes refined by the box head, scored with the RPN's ``scores``."""
        proposals = [res.bboxes for res in rpn_results_list]
        rois = bbox2roi(proposals)
        if rois.shape[0] == 0:  # StandardRoIHead's empty result
            return super().predict_bbox(x, batch_img_metas, rpn_results_list, rcnn_test_cfg,
                                        rescale)
        bbox_results = self._bbox_forward(x, rois)
        num = tuple(len(p) for p in proposals)
        return self.bbox_head.predict_by_feat(
            rois=rois.split(num, 0),
            cls_scores=bbox_results['cls_score'].split(num, 0),
            bbox_preds=bbox_results['bbox_pred'].split(num, 0),
            batch_img_metas=batch_img_metas,
            rcnn_test_cfg=rcnn_test_cfg,
            rescale=rescale,
            rpn_scores=[res.scores for res in rpn_results_list],
            iou_scores=bbox_results['bbox_score'].reshape(-1).sigmoid().split(num, 0))

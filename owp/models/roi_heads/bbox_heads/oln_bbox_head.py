"""OLNBBoxHead: OLN-Box's box head (Kim et al., "Learning Open-World Object Proposals
without Learning to Classify", sec. 3.2; OLN's ``Shared2FCBBoxScoreHead``) on
MMDetection 3's ``Shared2FCBBoxHead``: one more linear layer, ``fc_bbox_score``, on the
shared features predicts each box's IoU with the object, trained with L1 on its sigmoid.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmdet.models.layers import multiclass_nms
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import ConfigType, InstanceList
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from ...utils.oln import box_iou_targets, oln_scores

__all__ = ['OLNBBoxHead']


@MODELS.register_module()
class OLNBBoxHead(Shared2FCBBoxHead):
    """``Shared2FCBBoxHead`` with OLN's box-IoU score branch.

    Args:
        loss_bbox_score: Loss on the sigmoid of the IoU score (OLN: ``L1Loss``,
            weight 1), positives only, averaged over all sampled RoIs.
        **kwargs: Every ``Shared2FCBBoxHead`` argument (OLN: 1024-d FCs, delta
            coder with stds 0.1/0.1/0.2/0.2, ``L1Loss``; ``loss_cls`` weight 0 for
            OLN-Box, 1 for OLN with classification).
    """

    def __init__(self,
                 loss_bbox_score: ConfigType = dict(type='L1Loss', loss_weight=1.0),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        # Shared2FC: no per-branch convs or fcs, so the score sees the same
        # features as fc_cls and fc_reg (OLN: x_bbox_score = x).
        self.fc_bbox_score = nn.Linear(self.cls_last_dim, 1)
        self.loss_bbox_score = MODELS.build(loss_bbox_score)
        if kwargs.get('init_cfg') is None:
            self.init_cfg += [dict(type='Normal', std=0.01, override=dict(name='fc_bbox_score'))]

    @property
    def with_cls_loss(self) -> bool:
        """Whether the classifier is trained (OLN with classification)."""
        return self.loss_cls.loss_weight > 0

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Class scores, box deltas and IoU-score logits of RoI features.

        Args:
            x: (R, C, 7, 7) RoI features.

        Returns:
            tuple: cls_score (R, num_classes + 1), bbox_pred (R, 4 or
            4 * num_classes), bbox_score (R, 1) logits.
        """
        # --- ConvFCBBoxHead.forward, shared part (Shared2FC: no convs)
        x = x.flatten(1)
        for fc in self.shared_fcs:
            x = self.relu(fc(x))
        # --- end of ConvFCBBoxHead
        cls_score = self.fc_cls(x) if self.with_cls else None
        bbox_pred = self.fc_reg(x) if self.with_reg else None
        return cls_score, bbox_pred, self.fc_bbox_score(x)

    def loss_bbox_score_by_feat(self, bbox_score: Tensor,
                                sampling_results: List[SamplingResult]) -> dict:
        """``loss_bbox_score`` of the RoIs of ``sampling_results``.

        Args:
            bbox_score: (R, 1) IoU-score logits, RoIs in ``bbox2roi`` order.
            sampling_results: The sampled RoIs of each image.

        Returns:
            dict: ``loss_bbox_score``.
        """
        targets, weights = zip(*[
            box_iou_targets(get_box_tensor(r.pos_priors), get_box_tensor(r.pos_gt_bboxes),
                            len(r.neg_priors)) for r in sampling_results])
        targets, weights = torch.cat(targets), torch.cat(weights)
        return dict(loss_bbox_score=self.loss_bbox_score(
            bbox_score.reshape(-1).sigmoid(), targets, weights,
            avg_factor=max(targets.numel(), 1)))

    def predict_by_feat(self,
                        rois: Tuple[Tensor],
                        cls_scores: Tuple[Tensor],
                        bbox_preds: Tuple[Tensor],
                        batch_img_metas: List[dict],
                        rcnn_test_cfg: Optional[ConfigDict] = None,
                        rescale: bool = False,
                        rpn_scores: Optional[Sequence[Tensor]] = None,
                        iou_scores: Optional[Sequence[Tensor]] = None) -> InstanceList:
        """Boxes of each image scored by ``rcnn_test_cfg.score_mode``, after NMS.

        Args:
            rois, cls_scores, bbox_preds, batch_img_metas, rescale: As
                ``BBoxHead.predict_by_feat``, one entry per image.
            rcnn_test_cfg: ``test_cfg.rcnn``: ``score_mode`` (one of
                ``OLN_SCORE_MODES``, default ``'sqrt(centerness*iou)'``),
                ``score_thr``, ``nms``, ``max_per_img``, and
                ``with_score_components`` (default False): the kept boxes also
                carry their RoI's ``centerness`` (the RPN's objectness), ``iou``
                (the IoU score) and ``cls_prob`` (the probability of their
                class; in one-score modes the most probable class's), as
                ``OWPFCOSHead`` does for ``OWPScoreDump``.
            rpn_scores: (R_i,) the RPN's objectness of each image's proposals.
            iou_scores: (R_i,) the IoU score (sigmoid) of each image's RoIs.

        Returns:
            list[InstanceData]: ``bboxes``, ``scores``, ``labels`` per image.
        """
        if rcnn_test_cfg is None or rpn_scores is None or iou_scores is None:
            raise ValueError('OLNBBoxHead.predict_by_feat needs rcnn_test_cfg, rpn_scores '
                             'and iou_scores (OLNRoIHead passes them)')
        mode = rcnn_test_cfg.get('score_mode', 'sqrt(centerness*iou)')
        keep_components = rcnn_test_cfg.get('with_score_components', False)
        results = []
        for i, img_meta in enumerate(batch_img_metas):
            if rois[i].shape[0] == 0:  # BBoxHead's empty result
                res = self._predict_by_feat_single(
                    rois[i], cls_scores[i], bbox_preds[i], img_meta, rescale, rcnn_test_cfg)
                if keep_components:
                    for k in ('cls_prob', 'centerness', 'iou'):
                        res.set_field(res.scores.new_zeros(0), k)
                results.append(res)
                continue
            # decoded (and rescaled) boxes and class probabilities, before NMS
            raw = self._predict_by_feat_single(rois[i], cls_scores[i], bbox_preds[i],
                                               img_meta, rescale, rcnn_test_cfg=None)
            cls_prob = raw.scores[:, :-1]
            scores = oln_scores(mode, rpn_scores[i], iou_scores[i], cls_prob)
            bboxes = raw.bboxes
            if scores.size(1) == 1 and bboxes.size(1) > 4:
                # one 'object' score, class-specific boxes: the most probable class's box
                best = cls_prob.argmax(dim=1)
                bboxes = bboxes.view(len(bboxes), -1, 4)[torch.arange(len(bboxes)), best]
            det_bboxes, det_labels, inds = multiclass_nms(
                bboxes, torch.cat([scores, scores.new_zeros(len(scores), 1)], dim=1),
                rcnn_test_cfg.score_thr, rcnn_test_cfg.nms, rcnn_test_cfg.max_per_img,
                return_inds=True)
            res = InstanceData(bboxes=det_bboxes[:, :-1], scores=det_bboxes[:, -1],
                               labels=det_labels)
            if keep_components:
                # inds index the (RoI, score column) pairs, row-major
                roi = inds // scores.size(1)
                res.cls_prob = (cls_prob.reshape(-1)[inds] if scores.size(1) > 1
                                else cls_prob.max(dim=1)[0][roi])
                res.centerness = rpn_scores[i][roi]
                res.iou = iou_scores[i][roi]
            results.append(res)
        return results

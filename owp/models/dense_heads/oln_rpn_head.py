"""OLNRPNHead: OLN's proposal stage (Kim et al., "Learning Open-World Object
Proposals without Learning to Classify", sec. 3.1) on MMDetection 3's ``RPNHead``.

Localization instead of classification: one anchor per location, box regression
on the usual RPN assignment (TBLR coder, IoU loss in OLN's configs), and an
objectness branch that regresses the *centerness* of anchors w.r.t. their boxes
(L1 on the sigmoid), trained on a second, looser assignment. The foreground
classifier stays (``rpn_cls``, so checkpoints keep RPNHead's layout) but OLN
trains it with loss weight 0; proposals are scored by the objectness alone.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.dense_heads import RPNHead
from mmdet.models.task_modules.prior_generators import anchor_inside_flags
from mmdet.models.utils import multi_apply, unmap
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures.bbox import cat_boxes, get_box_tensor
from mmdet.utils import ConfigType, InstanceList, OptInstanceList
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils.oln import anchor_centerness

__all__ = ['OLNRPNHead']

#: ``test_cfg.score_mode`` of an OLN-RPN used alone (an ``RPN`` detector): the
#: objectness branch, whose target is centerness. Set by the study runner.
RPN_SCORE_MODES = ('centerness', )


@MODELS.register_module()
class OLNRPNHead(RPNHead):
    """RPN head with OLN's centerness objectness branch.

    Args:
        in_channels: Channels of the input feature maps.
        loss_objectness: Loss of the objectness branch, applied to the sigmoid
            of its output (OLN: ``L1Loss``, weight 1).
        **kwargs: Every ``RPNHead`` argument. OLN's settings (see
            ``configs/_base_/models/oln-box_r50_fpn.py``): one anchor per location,
            ``TBLRBBoxCoder(normalizer=1.0)``, ``reg_decoded_bbox=True`` with a
            linear ``IoULoss`` (weight 10), ``loss_cls`` weight 0.

    ``train_cfg`` needs, besides RPNHead's ``assigner``/``sampler``, an
    ``objectness_assigner`` and ``objectness_sampler`` (OLN: ``MaxIoUAssigner``
    with positives at IoU >= 0.3, ``RandomSampler`` of 256 with positive fraction
    1). Sampled positives are trained towards their centerness, sampled negatives
    (if the sampler returns any) towards 0, every other anchor not at all.
    """

    def __init__(self,
                 in_channels: int,
                 loss_objectness: ConfigType = dict(type='L1Loss', loss_weight=1.0),
                 **kwargs) -> None:
        super().__init__(in_channels, **kwargs)
        if not self.use_sigmoid_cls:
            raise ValueError('OLNRPNHead: loss_cls must have use_sigmoid=True (one '
                             'foreground channel, as OLN)')
        self.loss_objectness = MODELS.build(loss_objectness)
        if self.train_cfg:
            missing = [k for k in ('objectness_assigner', 'objectness_sampler')
                       if self.train_cfg.get(k) is None]
            if missing:
                raise KeyError(f'OLNRPNHead: train_cfg (model.train_cfg.rpn) needs '
                               f'{" and ".join(missing)}: OLN uses MaxIoUAssigner(pos_iou_thr=0.3, '
                               f'neg_iou_thr=0.1, min_pos_iou=0.3) and RandomSampler(num=256, '
                               f'pos_fraction=1.0)')
            self.objectness_assigner = TASK_UTILS.build(self.train_cfg['objectness_assigner'])
            self.objectness_sampler = TASK_UTILS.build(
                self.train_cfg['objectness_sampler'], default_args=dict(context=self))
        score_mode = (self.test_cfg or {}).get('score_mode', 'centerness')
        if score_mode not in RPN_SCORE_MODES:
            raise ValueError(f'OLNRPNHead: test_cfg.score_mode={score_mode!r}: OLN-RPN scores '
                             f'proposals by its objectness only; use one of '
                             f'{list(RPN_SCORE_MODES)}')

    def _init_layers(self) -> None:
        """RPNHead's layers plus the 1-channel objectness conv ``rpn_obj``."""
        super()._init_layers()
        if self.num_base_priors != 1:
            raise ValueError(f'OLNRPNHead: anchor_generator gives {self.num_base_priors} '
                             f'anchors per location; OLN uses one (scales=[8], ratios=[1.0])')
        self.rpn_obj = nn.Conv2d(self.feat_channels, self.num_base_priors, 1)

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """One level: RPNHead's conv + ReLU, L2-normalised over channels (OLN).

        Args:
            x: (N, in_channels, H, W) features.

        Returns:
            tuple: cls_score (N, 1, H, W), bbox_pred (N, 4, H, W), objectness
            logits (N, 1, H, W).
        """
        x = F.relu(self.rpn_conv(x))
        # OLN normalises the shared features (its code: "for training stability").
        x = F.normalize(x, p=2, dim=1)
        return self.rpn_cls(x), self.rpn_reg(x), self.rpn_obj(x)

    def loss_by_feat(self,
                     cls_scores: List[Tensor],
                     bbox_preds: List[Tensor],
                     objectness_preds: List[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """RPNHead's losses plus ``loss_rpn_obj``.

        The objectness loss is averaged, as in OLN, over the anchors that the
        *box* sampler drew (positives + negatives, about 256 per image).

        Returns:
            dict: ``loss_rpn_cls``, ``loss_rpn_bbox`` (per level, RPNHead's) and
            ``loss_rpn_obj``.
        """
        losses = super().loss_by_feat(cls_scores, bbox_preds, batch_gt_instances,
                                      batch_img_metas, batch_gt_instances_ignore)
        # The box sampling results of the call above (mmdet keeps them for
        # get_positive_infos): their pos + neg counts are OLN's avg factor.
        box_sampling = self._raw_positive_infos['sampling_results']
        avg_factor = max(sum(r.avg_factor for r in box_sampling), 1)
        targets, weights = self.objectness_targets(
            [f.shape[-2:] for f in objectness_preds], batch_gt_instances, batch_img_metas,
            batch_gt_instances_ignore, device=objectness_preds[0].device)
        num_imgs = len(batch_img_metas)
        preds = torch.cat([p.permute(0, 2, 3, 1).reshape(num_imgs, -1)
                           for p in objectness_preds], dim=1)
        losses['loss_rpn_obj'] = self.loss_objectness(
            preds.sigmoid().reshape(-1), targets.reshape(-1), weights.reshape(-1),
            avg_factor=avg_factor)
        return losses

    def objectness_targets(self, featmap_sizes: List[torch.Size],
                           batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                           batch_gt_instances_ignore: OptInstanceList = None,
                           device='cpu') -> Tuple[Tensor, Tensor]:
        """Objectness targets and weights of every anchor of the batch.

        Returns:
            tuple: targets (N, A) and weights (N, A), A = anchors of all levels
            of an image in RPNHead's order (level, then row-major location).
        """
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, batch_img_metas,
                                                        device=device)
        if batch_gt_instances_ignore is None:
            batch_gt_instances_ignore = [None] * len(batch_img_metas)
        targets, weights = multi_apply(
            self._objectness_targets_single, [cat_boxes(a) for a in anchor_list],
            [torch.cat(v) for v in valid_flag_list], batch_gt_instances, batch_img_metas,
            batch_gt_instances_ignore)
        return torch.stack(targets), torch.stack(weights)

    def _objectness_targets_single(self, flat_anchors: Tensor, valid_flags: Tensor,
                                   gt_instances: InstanceData, img_meta: dict,
                                   gt_instances_ignore: Optional[InstanceData] = None
                                   ) -> Tuple[Tensor, Tensor]:
        """One image: (A,) targets and (A,) weights (anchors outside the image: 0)."""
        inside = anchor_inside_flags(flat_anchors, valid_flags, img_meta['img_shape'][:2],
                                     self.train_cfg['allowed_border'])
        anchors = get_box_tensor(flat_anchors[inside])
        candidates = InstanceData(priors=anchors)
        assign_result = self.objectness_assigner.assign(candidates, gt_instances,
                                                        gt_instances_ignore)
        sampling = self.objectness_sampler.sample(assign_result, candidates, gt_instances)
        targets = anchors.new_zeros(len(anchors))
        weights = anchors.new_zeros(len(anchors))
        if len(sampling.pos_inds) > 0:
            targets[sampling.pos_inds] = anchor_centerness(
                get_box_tensor(sampling.pos_priors), get_box_tensor(sampling.pos_gt_bboxes))
            weights[sampling.pos_inds] = 1.0
        weights[sampling.neg_inds] = 1.0  # target 0
        num = flat_anchors.size(0)
        return unmap(targets, num, inside), unmap(weights, num, inside)

    def _predict_by_feat_single(self,
                                cls_score_list: List[Tensor],
                                bbox_pred_list: List[Tensor],
                                score_factor_list: List[Tensor],
                                mlvl_priors: List[Tensor],
                                img_meta: dict,
                                cfg: ConfigDict,
                                rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """RPNHead's proposals with the objectness in place of the class score.

        ``score_factor_list`` holds the objectness logits (the head's third
        output). ``cfg.nms=None`` keeps every candidate (OLN's "no NMS"), sorted by
        score; see docs/design.md ("OLN") for OLN's ``nms_thr=0.0``.
        """
        return super()._predict_by_feat_single(score_factor_list, bbox_pred_list,
                                               score_factor_list, mlvl_priors, img_meta,
                                               cfg, rescale=rescale, with_nms=with_nms)

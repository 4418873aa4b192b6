"""OWPFCOSHead: FCOS with IoU / conditional objectness for open-world proposals."""
import contextlib
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.ops import batched_nms
from mmdet.models.dense_heads import FCOSHead
from mmdet.models.utils import filter_scores_and_topk
from mmdet.registry import MODELS
from mmdet.utils import InstanceList, OptInstanceList, reduce_mean
from mmengine.logging import MessageHub, print_log
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils.objectness import (
    OBJECTNESS_SAMPLING,
    SCORE_MODES,
    centerness_target,
    combine_scores,
    fused_conv3x3,
    iou_sampling,
    iou_target,
    objectness_train_mask,
    points_in_boxes,
    unknown_object_mask,
)

BRANCHES = ('centerness', 'iou')
CLS_MODES = ('joint', 'frozen', 'agnostic')


@MODELS.register_module()
class OWPFCOSHead(FCOSHead):
    """FCOS head with the open-world-proposal options of Konan et al.

    With its defaults it is mmdet's ``FCOSHead`` (centerness on the
    classification tower as in mmdet unless ``centerness_on_reg``; FCOS
    positives train centerness; ``logits*centerness`` scoring).

    Args:
        objectness_branches (Sequence[str]): Non-empty subset of
            ('centerness', 'iou'). The IoU branch sits on the regression tower
            (paper fig. 1) and predicts eq. 2.
        conditional_objectness (bool): Objectness convs see the regression
            tower's features concatenated with the (stride-normalised)
            regression output, 4 more channels (paper fig. 2).
        conditional_detach (bool): Stop gradients from the objectness losses
            into the regression output through the conditional input.
        objectness_sampling (str): Which points train the objectness branches:
            'center' (FCOS positives), 'inside' (every point inside a box within
            its level's range) or 'all' (every point, background target 0).
        iou_sampling_thr (float, optional): IoU sampling (sec. 3.2): objectness
            targets below it are set to 0. None disables it.
        cls_mode (str): 'joint' (classification trained), 'frozen' (no
            gradient, no loss: the OWP recipe of sec. 4) or 'agnostic' (one
            'object' class, every ground truth mapped to it).
        unknown_masking (dict, optional): Unknown-object masking (sec. 3.3):
            ``dict(thr=0.95, start_iter=5000, branch=None, area=False,
            area_nms_iou=None)``. Background points whose objectness
            probability (``branch``, default: 'iou' if present else
            'centerness') exceeds ``thr`` are dropped from the classification
            loss from iteration ``start_iter`` on (read from mmengine's message
            hub). With ``area=True`` every background point inside the boxes
            those points predict is dropped too (appendix A), optionally after
            NMS of those boxes at ``area_nms_iou``.
        loss_iou (dict): Loss of the IoU branch (BCE).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 objectness_branches: Sequence[str] = ('centerness', ),
                 conditional_objectness: bool = False,
                 conditional_detach: bool = True,
                 objectness_sampling: str = 'center',
                 iou_sampling_thr: Optional[float] = None,
                 cls_mode: str = 'joint',
                 unknown_masking: Optional[dict] = None,
                 loss_iou: dict = dict(
                     type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                 **kwargs) -> None:
        branches = tuple(objectness_branches)
        if not branches or any(b not in BRANCHES for b in branches) or \
                len(set(branches)) != len(branches):
            raise ValueError('objectness_branches must be a non-empty subset of '
                             f'{BRANCHES}, got {objectness_branches!r}')
        self.branches = tuple(b for b in BRANCHES if b in branches)  # canonical order
        if objectness_sampling not in OBJECTNESS_SAMPLING:
            raise ValueError(f'objectness_sampling must be one of {OBJECTNESS_SAMPLING}, '
                             f'got {objectness_sampling!r}')
        if cls_mode not in CLS_MODES:
            raise ValueError(f'cls_mode must be one of {CLS_MODES}, got {cls_mode!r}')
        if iou_sampling_thr is not None and not 0 < iou_sampling_thr < 1:
            raise ValueError(f'iou_sampling_thr must be in (0, 1) or None, got '
                             f'{iou_sampling_thr!r}')
        self.unknown_masking = self._check_masking(unknown_masking, cls_mode)
        self.conditional_objectness = conditional_objectness
        self.conditional_detach = conditional_detach
        self.objectness_sampling = objectness_sampling
        self.iou_sampling_thr = iou_sampling_thr
        self.cls_mode = cls_mode
        if cls_mode == 'agnostic':
            num_classes = 1
        super().__init__(num_classes=num_classes, in_channels=in_channels, **kwargs)
        self.loss_iou = MODELS.build(loss_iou)
        self.score_mode = self._check_score_mode(self.test_cfg)
        if cls_mode == 'frozen' and any(self._on_cls_tower(b) for b in self.branches):
            raise ValueError("cls_mode='frozen' freezes the classification tower, where the "
                             'centerness branch sits unless centerness_on_reg=True (or '
                             'conditional_objectness=True); set centerness_on_reg=True')
        if cls_mode == 'frozen':
            for p in list(self.cls_convs.parameters()) + list(self.conv_cls.parameters()):
                p.requires_grad_(False)

    def _check_masking(self, cfg: Optional[dict], cls_mode: str) -> Optional[dict]:
        if cfg is None:
            return None
        allowed = {'thr', 'start_iter', 'branch', 'area', 'area_nms_iou'}
        unknown = set(cfg) - allowed
        if unknown:
            raise ValueError(f'unknown_masking: unknown keys {sorted(unknown)}; allowed: '
                             f'{sorted(allowed)}')
        if 'thr' not in cfg or not 0 < cfg['thr'] < 1:
            raise ValueError(f"unknown_masking.thr must be in (0, 1), got {cfg.get('thr')!r}")
        if cls_mode == 'frozen':
            raise ValueError("unknown_masking acts on the classification loss; it cannot be "
                             "used with cls_mode='frozen'")
        out = dict(start_iter=0, branch=None, area=False, area_nms_iou=None)
        out.update(cfg)
        if isinstance(out['start_iter'], bool) or not isinstance(out['start_iter'], int) \
                or out['start_iter'] < 0:
            raise ValueError('unknown_masking.start_iter must be an int >= 0 (training '
                             f"iteration), got {out['start_iter']!r}")
        if not isinstance(out['area'], bool):
            raise ValueError(f"unknown_masking.area must be True or False, got {out['area']!r}")
        nms_iou = out['area_nms_iou']
        if nms_iou is not None:
            if not out['area']:
                raise ValueError('unknown_masking.area_nms_iou only acts with area=True')
            if isinstance(nms_iou, bool) or not isinstance(nms_iou, (int, float)) \
                    or not 0 < nms_iou <= 1:
                raise ValueError('unknown_masking.area_nms_iou must be in (0, 1] or None, '
                                 f'got {nms_iou!r}')
        if out['branch'] is None:
            out['branch'] = 'iou' if 'iou' in self.branches else 'centerness'
        if out['branch'] not in self.branches:
            raise ValueError(f"unknown_masking.branch={out['branch']!r} needs that objectness "
                             f'branch; objectness_branches={self.branches}')
        return out

    def _check_score_mode(self, test_cfg) -> str:
        mode = (test_cfg or {}).get('score_mode', None)
        if mode is None and self.cls_mode == 'frozen':  # no trained classifier
            mode = {('centerness', ): 'centerness', ('iou', ): 'iou'}.get(
                self.branches, 'sqrt(centerness*iou)')
        elif mode is None:  # stock FCOS scoring with whichever branch there is
            mode = 'logits*centerness' if 'centerness' in self.branches else 'logits*iou'
        if mode not in SCORE_MODES:
            raise ValueError(f'test_cfg.score_mode must be one of {list(SCORE_MODES)}, '
                             f'got {mode!r}')
        if self.cls_mode == 'frozen' and mode.startswith('logits'):
            raise ValueError(f"test_cfg.score_mode={mode!r} ranks proposals by a classifier "
                             "that cls_mode='frozen' never trains; use an objectness-only "
                             "mode ('centerness', 'iou', 'sqrt(centerness*iou)') or "
                             "cls_mode='joint'")
        missing = [b for b in SCORE_MODES[mode] if b not in self.branches]
        if missing:
            raise ValueError(f'test_cfg.score_mode={mode!r} needs objectness branch(es) '
                             f'{missing}; objectness_branches={self.branches}')
        return mode

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Also load a class-agnostic checkpoint (``cls_mode='agnostic'``, one
        'object' class) into an N-class head: every class starts from the object
        classifier, so joint/finetune training can start from any OWP model.
        (The reverse, N classes into one, has no natural mapping and stays a
        size mismatch.)"""
        for name in ('weight', 'bias'):
            key = f'{prefix}conv_cls.{name}'
            own = getattr(self.conv_cls, name, None)
            w = state_dict.get(key)
            if own is None or w is None or w.shape[0] != 1 or own.shape[0] == 1 or \
                    w.shape[1:] != own.shape[1:]:
                continue
            state_dict[key] = w.expand_as(own).clone()
            if name == 'weight':
                print_log(f'{key}: class-agnostic classifier copied to all {own.shape[0]} '
                          'classes', logger='current')
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)

    # ------------------------------------------------------------------ layers
    def _init_layers(self) -> None:
        """FCOS layers, then one objectness conv per branch (centerness replaced)."""
        super()._init_layers()
        del self.conv_centerness  # rebuilt below when requested
        extra = 4 if self.conditional_objectness else 0
        for b in self.branches:
            setattr(self, f'conv_{b}', nn.Conv2d(self.feat_channels + extra, 1, 3, padding=1))

    def objectness_input(self, bbox_pred: Tensor) -> Tensor:
        """Regression channels of the conditional objectness input (paper fig. 2).

        The conditional branches convolve ``cat([reg_feat, bbox_pred])``; the
        feature part is computed fused with ``conv_reg`` in
        :meth:`forward_single`, this is the rest.

        Args:
            bbox_pred: (B, 4, H, W) regression output on the training scale
                (stride-normalised when ``norm_on_bbox``), identical in train
                and eval mode.

        Returns:
            Tensor: (B, 4, H, W), detached when ``conditional_detach``.
        """
        return bbox_pred.detach() if self.conditional_detach else bbox_pred

    def _on_cls_tower(self, branch: str) -> bool:
        """mmdet's FCOS puts centerness on the cls tower unless centerness_on_reg."""
        return (branch == 'centerness' and not self.centerness_on_reg
                and not self.conditional_objectness)

    def forward_single(self, x: Tensor, scale, stride: int) -> Tuple[Tensor, Tensor, Tensor]:
        """One level: class logits (B, C, H, W), boxes (B, 4, H, W), objectness (B, K, H, W).

        Re-states FCOSHead.forward_single because the objectness convs need the
        towers' features, which it does not return. ``K = len(self.branches)``,
        channels in the order of ``self.branches``.

        The 1-channel objectness convs are evaluated inside the tower's output
        conv (``conv_cls`` / ``conv_reg``) by concatenating their kernels: a
        3x3 conv with one output channel costs on CPU about as much as one
        with a few, so this removes the branches' cost almost entirely. The
        result is the same convolution (see :func:`fused_conv3x3`), and the
        parameters keep their own names, so checkpoints are unchanged. A
        conditional branch's kernel is split into its feature part (fused)
        and its 4 regression channels, convolved separately and added.
        """
        cls_feat, reg_feat = x, x
        for conv in self.cls_convs:
            cls_feat = conv(cls_feat)
        for conv in self.reg_convs:
            reg_feat = conv(reg_feat)
        c = self.feat_channels
        on_cls = [b for b in self.branches if self._on_cls_tower(b)]
        on_reg = [b for b in self.branches if not self._on_cls_tower(b)]
        obj_convs = {b: getattr(self, f'conv_{b}') for b in self.branches}
        cls_out = fused_conv3x3(cls_feat, [(self.conv_cls.weight, self.conv_cls.bias)] +
                                [(obj_convs[b].weight, obj_convs[b].bias) for b in on_cls])
        reg_out = fused_conv3x3(reg_feat, [(self.conv_reg.weight, self.conv_reg.bias)] +
                                [(obj_convs[b].weight[:, :c], obj_convs[b].bias)
                                 for b in on_reg])
        nc = self.cls_out_channels
        cls_score, bbox_pred = cls_out[:, :nc], reg_out[:, :4]
        obj = {b: cls_out[:, nc + i:nc + i + 1] for i, b in enumerate(on_cls)}
        obj.update({b: reg_out[:, 4 + i:5 + i] for i, b in enumerate(on_reg)})
        bbox_pred = scale(bbox_pred).float()
        if self.norm_on_bbox:
            bbox_pred = bbox_pred.clamp(min=0)
        else:
            bbox_pred = bbox_pred.exp()
        objectness = torch.cat([obj[b] for b in self.branches], dim=1)
        if self.conditional_objectness:
            box_in = self.objectness_input(bbox_pred)
            box_w = torch.cat([obj_convs[b].weight[:, c:] for b in self.branches])
            objectness = objectness + F.conv2d(box_in, box_w, padding=1)
        if self.norm_on_bbox and not self.training:
            bbox_pred = bbox_pred * stride
        return cls_score, bbox_pred, objectness

    @torch.no_grad()
    def predict_objectness_maps(self, x: Tuple[Tensor]) -> List[Dict[str, Tensor]]:
        """Dense objectness maps for analysis (paper fig. 7).

        Args:
            x: FPN features, one (B, C, H_l, W_l) tensor per level.

        Returns:
            list[dict]: per level, ``{branch: (B, H_l, W_l) probability}``.
        """
        _, _, objectness = self.forward(x)
        return [{b: o[:, i].sigmoid() for i, b in enumerate(self.branches)}
                for o in objectness]

    # -------------------------------------------------------------------- loss
    @contextlib.contextmanager
    def _no_center_sampling(self):
        old = self.center_sampling
        self.center_sampling = False
        try:
            yield
        finally:
            self.center_sampling = old

    def _current_iter(self) -> int:
        return int(MessageHub.get_current_instance().get_info('iter', 0) or 0)

    def loss_by_feat(self,
                     cls_scores: List[Tensor],
                     bbox_preds: List[Tensor],
                     objectnesses: List[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> Dict[str, Tensor]:
        """FCOS losses with OWP objectness targets, sampling and masking."""
        if self.cls_mode == 'agnostic':
            batch_gt_instances = [self._to_object_class(g) for g in batch_gt_instances]
        featmap_sizes = [f.size()[-2:] for f in cls_scores]
        points = self.prior_generator.grid_priors(
            featmap_sizes, dtype=bbox_preds[0].dtype, device=bbox_preds[0].device)
        labels, bbox_targets = self.get_targets(points, batch_gt_instances)
        num_imgs = cls_scores[0].size(0)
        flat_cls = torch.cat([c.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
                              for c in cls_scores])
        flat_bbox = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
        flat_obj = torch.cat([o.permute(0, 2, 3, 1).reshape(-1, len(self.branches))
                              for o in objectnesses])
        flat_labels = torch.cat(labels)
        flat_targets = torch.cat(bbox_targets)
        flat_points = torch.cat([p.repeat(num_imgs, 1) for p in points])

        bg = self.num_classes
        pos = (flat_labels >= 0) & (flat_labels < bg)
        pos_inds = pos.nonzero().reshape(-1)
        num_pos = max(reduce_mean(pos.sum().float()), 1.0)
        losses = {}

        # classification (FCOS focal loss), optionally without unknown objects
        if self.cls_mode != 'frozen':
            weight = None
            if self.unknown_masking is not None and \
                    self._current_iter() >= self.unknown_masking['start_iter']:
                drop = self._unknown_mask(flat_obj, flat_labels, flat_bbox, flat_points,
                                          points, batch_gt_instances)
                weight = (~drop).float()
                losses['num_unknown_masked'] = drop.sum().float().detach()
            losses['loss_cls'] = self.loss_cls(flat_cls, flat_labels, weight=weight,
                                               avg_factor=num_pos)

        # regression: FCOS IoU loss on positives, weighted by centerness targets
        pos_targets = flat_targets[pos_inds]
        pos_ctr = centerness_target(pos_targets)
        ctr_denorm = max(reduce_mean(pos_ctr.sum().detach()), 1e-6)
        if len(pos_inds) > 0:
            pos_points = flat_points[pos_inds]
            losses['loss_bbox'] = self.loss_bbox(
                self.bbox_coder.decode(pos_points, flat_bbox[pos_inds]),
                self.bbox_coder.decode(pos_points, pos_targets),
                weight=pos_ctr, avg_factor=ctr_denorm)
        else:
            losses['loss_bbox'] = flat_bbox[pos_inds].sum()

        # objectness: which points, which targets
        if self.objectness_sampling == 'center':
            inside, inside_targets = pos, flat_targets
        else:
            with self._no_center_sampling():
                in_labels, in_targets = self.get_targets(points, batch_gt_instances)
            inside_labels = torch.cat(in_labels)
            inside = (inside_labels >= 0) & (inside_labels < bg)
            inside_targets = torch.cat(in_targets)
        train = objectness_train_mask(self.objectness_sampling, pos, inside)
        train_inds = train.nonzero().reshape(-1)
        num_train = max(reduce_mean(train.sum().float()), 1.0)
        has_box = inside[train_inds]
        tgt_ltrb = inside_targets[train_inds]
        for i, b in enumerate(self.branches):
            pred = flat_obj[train_inds, i]
            if b == 'centerness':
                target = centerness_target(tgt_ltrb)
            else:
                target = iou_target(flat_bbox[train_inds].detach(), tgt_ltrb)
            target = iou_sampling(torch.where(has_box, target, target.new_zeros(())),
                                  self.iou_sampling_thr)
            loss_fn = self.loss_centerness if b == 'centerness' else self.loss_iou
            losses[f'loss_{b}'] = loss_fn(pred, target, avg_factor=num_train) \
                if len(train_inds) > 0 else pred.sum()
        return losses

    @staticmethod
    def _to_object_class(gt: InstanceData) -> InstanceData:
        gt = gt.clone()
        gt.labels = torch.zeros_like(gt.labels)
        return gt

    def _unknown_mask(self, flat_obj: Tensor, flat_labels: Tensor, flat_bbox: Tensor,
                      flat_points: Tensor, points: List[Tensor],
                      batch_gt_instances: InstanceList) -> Tensor:
        """(N,) bool: background points dropped from the classification loss.

        Only points outside every annotated box of their image can be dropped:
        the paper masks "regions outside of the ground-truth" (sec. 3.3, fig. 4,
        appendix A). FCOS negatives inside a box (beyond the center-sampling
        radius, or on another level) stay hard negatives of the focal loss.
        Flat order of the N points: level, image, point.
        """
        cfg = self.unknown_masking
        logits = flat_obj[:, self.branches.index(cfg['branch'])]
        num_imgs = len(batch_gt_instances)
        img_ids = torch.cat([torch.arange(num_imgs, device=flat_bbox.device)
                             .repeat_interleave(p.size(0)) for p in points])
        per_img = [(img_ids == img).nonzero().reshape(-1) for img in range(num_imgs)]
        in_gt = torch.zeros_like(flat_labels, dtype=torch.bool)
        for idx, gt in zip(per_img, batch_gt_instances):
            in_gt[idx] = points_in_boxes(flat_points[idx], gt.bboxes)
        candidates = (flat_labels == self.num_classes) & ~in_gt
        drop = unknown_object_mask(logits, candidates, cfg['thr'])
        if not cfg['area'] or not drop.any():
            return drop
        # Unknown-area masking: also drop candidate points inside the boxes the
        # unknown points predict, image by image.
        strides = torch.cat([flat_bbox.new_full((p.size(0) * num_imgs, ), s)
                             for p, s in zip(points, self.strides)])
        area = torch.zeros_like(drop)
        for idx in per_img:
            seeds = idx[drop[idx]]
            if len(seeds) == 0:
                continue
            dist = flat_bbox[seeds].detach() * (strides[seeds, None] if self.norm_on_bbox else 1)
            seed_boxes = self.bbox_coder.decode(flat_points[seeds], dist)
            if cfg['area_nms_iou'] is not None:
                _, keep = batched_nms(seed_boxes, logits[seeds].detach().sigmoid(),
                                      torch.zeros_like(seeds),
                                      dict(type='nms', iou_threshold=cfg['area_nms_iou']))
                seed_boxes = seed_boxes[keep]
            area[idx] = points_in_boxes(flat_points[idx], seed_boxes)
        return drop | (area & candidates)

    # ----------------------------------------------------------------- predict
    def _predict_by_feat_single(self,
                                cls_score_list: List[Tensor],
                                bbox_pred_list: List[Tensor],
                                score_factor_list: List[Tensor],
                                mlvl_priors: List[Tensor],
                                img_meta: dict,
                                cfg=None,
                                rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """Proposals of one image scored by ``test_cfg.score_mode``.

        Class-aware modes ('logits*...') follow mmdet's FCOS exactly: score
        threshold and top-k on the class probabilities, then multiplied by the
        objectness. Objectness-only modes are class-agnostic: one label (0),
        threshold and top-k on the objectness score itself. With
        ``with_score_components`` the kept proposals also carry ``logits`` (the
        probability of their class; the best class's in class-agnostic modes),
        ``centerness`` and ``iou``.

        ``nms_pre`` is per FPN level, as in mmdet's FCOSHead and the FCOS
        reference implementation: up to ``nms_pre`` points of each level enter NMS.
        """
        cfg = self.test_cfg if cfg is None else cfg
        mode = self._check_score_mode(cfg)
        agnostic = not mode.startswith('logits')
        keep_components = cfg.get('with_score_components', False)
        nms_pre = cfg.get('nms_pre', -1)
        score_thr = cfg.get('score_thr', 0)
        out = {k: [] for k in ('bboxes', 'scores', 'labels', 'factors', 'comps')}
        for cls_score, bbox_pred, obj, priors in zip(cls_score_list, bbox_pred_list,
                                                     score_factor_list, mlvl_priors):
            bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, 4)
            cls_prob = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
            obj_prob = obj.permute(1, 2, 0).reshape(-1, len(self.branches)).sigmoid()
            comp = {b: obj_prob[:, i] for i, b in enumerate(self.branches)}
            if agnostic:
                scores = combine_scores(mode, cls_prob, comp.get('centerness'), comp.get('iou'))
            else:
                scores = cls_prob
            scores, labels, keep, _ = filter_scores_and_topk(scores, score_thr, nms_pre)
            out['bboxes'].append(self.bbox_coder.decode(priors[keep], bbox_pred[keep],
                                                        max_shape=img_meta['img_shape']))
            out['scores'].append(scores)
            out['labels'].append(labels)
            if not agnostic:
                out['factors'].append(comp[SCORE_MODES[mode][0]][keep])
            if keep_components:
                # the proposal's own class probability; class-agnostic: the best class
                c = {'logits': scores if not agnostic else cls_prob[keep].max(dim=1)[0]}
                c.update({b: comp[b][keep] for b in BRANCHES if b in comp})
                out['comps'].append(c)
        results = InstanceData(bboxes=torch.cat(out['bboxes']),
                               scores=torch.cat(out['scores']),
                               labels=torch.cat(out['labels']))
        if not agnostic:
            results.score_factors = torch.cat(out['factors'])
        for k in (out['comps'][0] if out['comps'] else {}):
            results.set_field(torch.cat([c[k] for c in out['comps']]), k)
        return self._bbox_post_process(results, cfg, rescale=rescale, with_nms=with_nms,
                                       img_meta=img_meta)

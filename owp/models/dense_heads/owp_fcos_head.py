"""OWPFCOSHead: FCOS with IoU / conditional objectness for open-world proposals."""
import contextlib
import warnings
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

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

from ..utils import objectness as cues
from ..utils.objectness import (
    OBJECTNESS_SAMPLING,
    combine_scores,
    fused_conv3x3,
    iou_sampling,
    objectness_train_mask,
    parse_score_mode,
    points_in_boxes,
    unknown_object_mask,
)


class ObjectnessBranch(NamedTuple):
    """One objectness cue of :class:`OWPFCOSHead`.

    Attributes:
        target: ``(pred_ltrb (N, 4) detached, target_ltrb (N, 4)) -> (N,)``
            targets in [0, 1] for points inside a box (distances in the
            head's units); a pure function.
        tower: 'reg' (the conv sits on the regression tower) or 'cls' (on the
            classification tower unless ``centerness_on_reg``, as FCOS's centerness).
        loss: Name of the head's loss module for it (``loss_centerness`` is
            FCOS's config, ``loss_iou`` the ``loss_iou`` argument, BCE).
    """
    target: Callable[[Tensor, Tensor], Tensor]
    tower: str
    loss: str


#: The objectness branches a config can list in ``objectness_branches``, in
#: their canonical channel order. A new cue is one line here (and its target
#: function in ``owp/models/utils/objectness.py``); see CONTRIBUTING.md.
OBJECTNESS_BRANCHES = {
    'centerness': ObjectnessBranch(lambda pred, tgt: cues.centerness_target(tgt), 'cls',
                                   'loss_centerness'),  # FCOS, eq. 1
    'iou': ObjectnessBranch(cues.iou_target, 'reg', 'loss_iou'),  # paper eq. 2
}
#: ``cls_mode`` values: the classifier is trained ('joint'), never trained
#: ('untrained': OWP, sec. 4), or trained on one 'object' class ('agnostic').
CLS_MODES = ('joint', 'untrained', 'agnostic')
#: Old spellings, accepted with a DeprecationWarning for one release.
DEPRECATED_CLS_MODES = {'frozen': 'untrained'}


@MODELS.register_module()
class OWPFCOSHead(FCOSHead):
    """FCOS head with the open-world-proposal options of Konan et al.

    With its defaults it is mmdet's ``FCOSHead`` (centerness on the
    classification tower as in mmdet unless ``centerness_on_reg``; FCOS
    positives train centerness; ``logits*centerness`` scoring).

    Args:
        objectness_branches (Sequence[str]): Non-empty subset of
            :data:`OBJECTNESS_BRANCHES` ('centerness', 'iou'). The IoU branch
            sits on the regression tower (paper fig. 1) and predicts eq. 2.
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
        cls_mode (str): 'joint' (classification trained), 'untrained' (the
            classification tower and ``conv_cls`` get no loss and no gradient:
            the OWP recipe of sec. 4) or 'agnostic' (one 'object' class, every
            ground truth mapped to it). 'frozen' is the deprecated spelling of
            'untrained' (not to be confused with appendix A's "frozen" recipe,
            which trains the classifier and freezes localization).
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
        known = tuple(OBJECTNESS_BRANCHES)
        if not branches or any(b not in known for b in branches) or \
                len(set(branches)) != len(branches):
            raise ValueError('objectness_branches must be a non-empty subset of '
                             f'{known}, got {objectness_branches!r}')
        self.branches = tuple(b for b in known if b in branches)  # canonical order
        if objectness_sampling not in OBJECTNESS_SAMPLING:
            raise ValueError(f'objectness_sampling must be one of {OBJECTNESS_SAMPLING}, '
                             f'got {objectness_sampling!r}')
        if cls_mode in DEPRECATED_CLS_MODES:
            new = DEPRECATED_CLS_MODES[cls_mode]
            warnings.warn(f'OWPFCOSHead: cls_mode={cls_mode!r} is deprecated and will be removed '
                          f'in the next release; use cls_mode={new!r} (same behaviour)',
                          DeprecationWarning, stacklevel=2)
            cls_mode = new
        if cls_mode not in CLS_MODES:
            raise ValueError(f'cls_mode must be one of {CLS_MODES}, got {cls_mode!r}')
        if iou_sampling_thr is not None and not 0 < iou_sampling_thr < 1:
            raise ValueError(f'iou_sampling_thr must be in (0, 1) or None, got '
                             f'{iou_sampling_thr!r}')
        if kwargs.get('cls_predictor_cfg') is not None:
            raise ValueError('OWPFCOSHead does not support cls_predictor_cfg (a 1x1 normed '
                             'classifier): the objectness convs are fused into the 3x3 conv_cls')
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
        if cls_mode == 'untrained' and any(self._on_cls_tower(b) for b in self.branches):
            raise ValueError("cls_mode='untrained' freezes the classification tower, where "
                             'the centerness branch sits unless centerness_on_reg=True (or '
                             'conditional_objectness=True); set centerness_on_reg=True')
        if cls_mode == 'untrained':
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
        if cls_mode == 'untrained':
            raise ValueError("unknown_masking acts on the classification loss; it cannot be "
                             "used with cls_mode='untrained'")
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
        """``test_cfg.score_mode``, or its default, checked against the branches."""
        mode = (test_cfg or {}).get('score_mode', None)
        if mode is None and self.cls_mode == 'untrained':  # no trained classifier
            mode = self.branches[0] if len(self.branches) == 1 else \
                'sqrt({}*{})'.format(*self.branches[:2])
        elif mode is None:  # stock FCOS scoring with whichever branch there is
            mode = 'logits*centerness' if 'centerness' in self.branches else \
                f'logits*{self.branches[0]}'
        class_aware, needed = parse_score_mode(mode) if isinstance(mode, str) else (False, ())
        known = tuple(OBJECTNESS_BRANCHES)
        if not needed or any(b not in known for b in needed):
            valid = [f'logits*{b}' for b in known] + list(known) + \
                [f'sqrt({a}*{b})' for i, a in enumerate(known) for b in known[i + 1:]]
            raise ValueError(f'test_cfg.score_mode must be one of {valid}, got {mode!r}')
        if self.cls_mode == 'untrained' and class_aware:
            raise ValueError(f"test_cfg.score_mode={mode!r} ranks proposals by a classifier "
                             "that cls_mode='untrained' never trains; use an objectness-only "
                             "mode ('centerness', 'iou', 'sqrt(centerness*iou)') or "
                             "cls_mode='joint'")
        missing = [b for b in needed if b not in self.branches]
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
        """Whether ``branch``'s conv sits on the classification tower.

        A branch of tower 'cls' in :data:`OBJECTNESS_BRANCHES` (centerness, as
        in mmdet's FCOS) moves to the regression tower with
        ``centerness_on_reg`` or ``conditional_objectness``.
        """
        return (OBJECTNESS_BRANCHES[branch].tower == 'cls' and not self.centerness_on_reg
                and not self.conditional_objectness)

    def forward_single(self, x: Tensor, scale, stride: int) -> Tuple[Tensor, Tensor, Tensor]:
        """One level: class logits (B, C, H, W), boxes (B, 4, H, W), objectness (B, K, H, W).

        Restates ``AnchorFreeHead.forward_single`` + ``FCOSHead.forward_single``
        (marked below) because the objectness convs need the towers' features
        and are evaluated inside the towers' output convs (``conv_cls`` /
        ``conv_reg``) by concatenating their kernels (:func:`fused_conv3x3`):
        a 3x3 conv with one output channel costs on CPU about as much as one
        with a few, so the branches cost almost nothing. Same convolution,
        parameters keep their names, checkpoints are unchanged.
        ``K = len(self.branches)``, channels in the order of ``self.branches``.
        """
        on_cls = [b for b in self.branches if self._on_cls_tower(b)]
        on_reg = [b for b in self.branches if not self._on_cls_tower(b)]
        # --- FCOS (mmdet 3.3), unchanged but for the fused output convs ---------
        cls_feat = x
        reg_feat = x
        for cls_layer in self.cls_convs:
            cls_feat = cls_layer(cls_feat)
        cls_score, cls_obj = self._fused_out(cls_feat, self.conv_cls, on_cls)
        for reg_layer in self.reg_convs:
            reg_feat = reg_layer(reg_feat)
        bbox_pred, reg_obj = self._fused_out(reg_feat, self.conv_reg, on_reg)
        # scale the bbox_pred of different level
        # float to avoid overflow when enabling FP16
        bbox_pred = scale(bbox_pred).float()
        if self.norm_on_bbox:
            bbox_pred = bbox_pred.clamp(min=0)
        else:
            bbox_pred = bbox_pred.exp()
        # --- end of FCOS --------------------------------------------------------
        objectness = self.objectness_maps(dict(zip(on_cls, cls_obj), **dict(zip(on_reg, reg_obj))),
                                          bbox_pred)
        if self.norm_on_bbox and not self.training:
            bbox_pred = bbox_pred * stride  # FCOS, after the conditional input read it
        return cls_score, bbox_pred, objectness

    def _fused_out(self, feat: Tensor, out_conv: nn.Conv2d,
                   branches: Sequence[str]) -> Tuple[Tensor, List[Tensor]]:
        """A tower's output conv and the objectness convs on it, as one conv.

        Args:
            feat: (B, feat_channels, H, W) tower features.
            out_conv: ``conv_cls`` or ``conv_reg``.
            branches: Objectness branches on this tower.

        Returns:
            tuple: the output conv's (B, O, H, W) result and one (B, 1, H, W)
            map per branch (their feature part only, when conditional).
        """
        c = self.feat_channels
        kernels = [(out_conv.weight, out_conv.bias)] + [
            (getattr(self, f'conv_{b}').weight[:, :c], getattr(self, f'conv_{b}').bias)
            for b in branches]
        out = fused_conv3x3(feat, kernels)
        n = out_conv.out_channels
        return out[:, :n], [out[:, n + i:n + i + 1] for i in range(len(branches))]

    def objectness_maps(self, feat_part: Dict[str, Tensor], bbox_pred: Tensor) -> Tensor:
        """Stack the branches' outputs, adding the conditional input's part (fig. 2).

        Args:
            feat_part: ``{branch: (B, 1, H, W)}``, each conv applied to its
                tower's features.
            bbox_pred: (B, 4, H, W) regression output on the training scale.

        Returns:
            Tensor: (B, K, H, W) objectness logits in the order of ``self.branches``.
        """
        objectness = torch.cat([feat_part[b] for b in self.branches], dim=1)
        if not self.conditional_objectness:
            return objectness
        c = self.feat_channels
        box_w = torch.cat([getattr(self, f'conv_{b}').weight[:, c:] for b in self.branches])
        return objectness + F.conv2d(self.objectness_input(bbox_pred), box_w, padding=1)

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
        """FCOS targets of every point inside a box ('inside'/'all' objectness sampling)."""
        old = self.center_sampling
        self.center_sampling = False
        try:
            yield
        finally:
            self.center_sampling = old

    def _current_iter(self) -> int:
        """The training iteration, from mmengine's message hub (0 outside a runner)."""
        return int(MessageHub.get_current_instance().get_info('iter', 0) or 0)

    def loss_by_feat(self,
                     cls_scores: List[Tensor],
                     bbox_preds: List[Tensor],
                     objectnesses: List[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> Dict[str, Tensor]:
        """FCOS losses, then the paper's objectness losses.

        The first part restates ``FCOSHead.loss_by_feat`` (targets, flattening,
        positives), which computes them inside one method; the losses are then
        small steps: :meth:`loss_cls_by_feat` (FCOS focal loss, minus unknown
        objects), :meth:`loss_bbox_by_feat` (FCOS, unchanged) and
        :meth:`loss_objectness` (the objectness branches).

        Args:
            cls_scores: per level, (B, C, H, W) class logits.
            bbox_preds: per level, (B, 4, H, W) distances.
            objectnesses: per level, (B, K, H, W) objectness logits.
            batch_gt_instances: per image, ``bboxes`` (G, 4) xyxy and ``labels`` (G,).
            batch_img_metas: per image, meta information.
            batch_gt_instances_ignore: unused, as in FCOS.

        Returns:
            dict: ``loss_cls`` (not with ``cls_mode='untrained'``), ``loss_bbox``,
            ``loss_<branch>`` per objectness branch, ``num_unknown_masked`` when
            masking is active, and ``loss_cls``'s accuracy when it has
            ``custom_accuracy``.
        """
        if self.cls_mode == 'agnostic':
            batch_gt_instances = [self._to_object_class(g) for g in batch_gt_instances]
        # --- FCOS: FCOSHead.loss_by_feat (mmdet 3.3), unchanged up to the losses -
        assert len(cls_scores) == len(bbox_preds) == len(objectnesses)
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        all_level_points = self.prior_generator.grid_priors(
            featmap_sizes, dtype=bbox_preds[0].dtype, device=bbox_preds[0].device)
        labels, bbox_targets = self.get_targets(all_level_points, batch_gt_instances)
        num_imgs = cls_scores[0].size(0)
        flatten_cls_scores = torch.cat([
            cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
            for cls_score in cls_scores])
        flatten_bbox_preds = torch.cat([
            bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4) for bbox_pred in bbox_preds])
        flatten_labels = torch.cat(labels)
        flatten_bbox_targets = torch.cat(bbox_targets)
        # repeat points to align with bbox_preds
        flatten_points = torch.cat([points.repeat(num_imgs, 1) for points in all_level_points])
        # FG cat_id: [0, num_classes -1], BG cat_id: num_classes
        bg_class_ind = self.num_classes
        pos_inds = ((flatten_labels >= 0)
                    & (flatten_labels < bg_class_ind)).nonzero().reshape(-1)
        num_pos = torch.tensor(len(pos_inds), dtype=torch.float, device=bbox_preds[0].device)
        num_pos = max(reduce_mean(num_pos), 1.0)
        # --- end of FCOS --------------------------------------------------------
        # OWP: K objectness channels where FCOS has one centerness channel
        flatten_objectness = torch.cat([o.permute(0, 2, 3, 1).reshape(-1, len(self.branches))
                                        for o in objectnesses])
        losses = {}
        if self.cls_mode != 'untrained':
            weight = None
            if self.unknown_masking is not None and \
                    self._current_iter() >= self.unknown_masking['start_iter']:
                drop = self._unknown_mask(flatten_objectness, flatten_labels, flatten_bbox_preds,
                                          flatten_points, all_level_points, batch_gt_instances)
                weight = (~drop).float()
                losses['num_unknown_masked'] = drop.sum().float().detach()
            losses.update(self.loss_cls_by_feat(flatten_cls_scores, flatten_labels, num_pos,
                                                weight))
        losses.update(self.loss_bbox_by_feat(flatten_bbox_preds, flatten_bbox_targets,
                                             flatten_points, pos_inds))
        train_inds, targets = self.objectness_targets(
            flatten_bbox_preds, flatten_labels, flatten_bbox_targets, all_level_points,
            batch_gt_instances)
        losses.update(self.loss_objectness(flatten_objectness[train_inds], targets))
        return losses

    def loss_cls_by_feat(self, flatten_cls_scores: Tensor, flatten_labels: Tensor,
                         num_pos: float, weight: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """FCOS classification loss (as mmdet, ``custom_accuracy`` included).

        Args:
            flatten_cls_scores: (N, C) class logits of every point.
            flatten_labels: (N,) labels, ``num_classes`` for background.
            num_pos: Number of positives (averaged over processes), >= 1.
            weight: (N,) per-point weights (0 drops a point: unknown-object
                masking), or None.

        Returns:
            dict: ``loss_cls``, plus the loss' accuracy entries when it has
            ``custom_accuracy``.
        """
        losses = dict(loss_cls=self.loss_cls(flatten_cls_scores, flatten_labels, weight=weight,
                                             avg_factor=num_pos))
        if getattr(self.loss_cls, 'custom_accuracy', False):
            losses.update(self.loss_cls.get_accuracy(flatten_cls_scores, flatten_labels))
        return losses

    def loss_bbox_by_feat(self, flatten_bbox_preds: Tensor, flatten_bbox_targets: Tensor,
                          flatten_points: Tensor, pos_inds: Tensor) -> Dict[str, Tensor]:
        """FCOS regression loss: IoU loss on positives weighted by their centerness targets.

        Args:
            flatten_bbox_preds: (N, 4) predicted distances.
            flatten_bbox_targets: (N, 4) target distances.
            flatten_points: (N, 2) point coordinates.
            pos_inds: (P,) indices of the positives.

        Returns:
            dict: ``loss_bbox``.
        """
        pos_bbox_preds = flatten_bbox_preds[pos_inds]
        pos_bbox_targets = flatten_bbox_targets[pos_inds]
        pos_centerness_targets = self.centerness_target(pos_bbox_targets)
        # centerness weighted iou loss
        centerness_denorm = max(reduce_mean(pos_centerness_targets.sum().detach()), 1e-6)
        if len(pos_inds) == 0:
            return dict(loss_bbox=pos_bbox_preds.sum())
        pos_points = flatten_points[pos_inds]
        return dict(loss_bbox=self.loss_bbox(
            self.bbox_coder.decode(pos_points, pos_bbox_preds),
            self.bbox_coder.decode(pos_points, pos_bbox_targets),
            weight=pos_centerness_targets, avg_factor=centerness_denorm))

    def objectness_targets(self, flatten_bbox_preds: Tensor, flatten_labels: Tensor,
                           flatten_bbox_targets: Tensor, points: List[Tensor],
                           batch_gt_instances: InstanceList) -> Tuple[Tensor, Tensor]:
        """Which points train the objectness branches, and their targets.

        Sampling (``objectness_sampling``, appendix B): FCOS positives, every
        point inside a box (FCOS targets without center sampling), or every
        point. Each branch's target is its :data:`OBJECTNESS_BRANCHES` function
        of the (detached) predicted and the target distances, 0 for points
        outside every box, then IoU sampling (sec. 3.2).

        Args:
            flatten_bbox_preds: (N, 4) predicted distances.
            flatten_labels: (N,) FCOS labels (center sampling as configured).
            flatten_bbox_targets: (N, 4) FCOS target distances.
            points: per level, (N_l, 2) points.
            batch_gt_instances: per image, the ground truth.

        Returns:
            tuple: ``train_inds`` (T,) indices of the trained points and
            ``targets`` (T, K) in [0, 1], columns in the order of ``self.branches``.
        """
        pos = (flatten_labels >= 0) & (flatten_labels < self.num_classes)
        if self.objectness_sampling == 'center':
            inside, inside_targets = pos, flatten_bbox_targets
        else:
            with self._no_center_sampling():
                in_labels, in_targets = self.get_targets(points, batch_gt_instances)
            inside_labels = torch.cat(in_labels)
            inside = (inside_labels >= 0) & (inside_labels < self.num_classes)
            inside_targets = torch.cat(in_targets)
        train_inds = objectness_train_mask(self.objectness_sampling, pos,
                                           inside).nonzero().reshape(-1)
        pred_ltrb = flatten_bbox_preds[train_inds].detach()
        target_ltrb = inside_targets[train_inds]
        has_box = inside[train_inds]
        targets = [OBJECTNESS_BRANCHES[b].target(pred_ltrb, target_ltrb) for b in self.branches]
        targets = torch.stack(targets, dim=1)
        targets = torch.where(has_box[:, None], targets, targets.new_zeros(()))
        return train_inds, iou_sampling(targets, self.iou_sampling_thr)

    def loss_objectness(self, objectness: Tensor, targets: Tensor) -> Dict[str, Tensor]:
        """One loss per objectness branch (BCE), averaged over the trained points.

        Args:
            objectness: (T, K) objectness logits of the trained points.
            targets: (T, K) their targets.

        Returns:
            dict: ``loss_<branch>`` for each branch.
        """
        num_train = max(reduce_mean(objectness.new_tensor(float(len(objectness)))), 1.0)
        losses = {}
        for i, b in enumerate(self.branches):
            loss_fn = getattr(self, OBJECTNESS_BRANCHES[b].loss)
            losses[f'loss_{b}'] = loss_fn(objectness[:, i], targets[:, i], avg_factor=num_train) \
                if len(objectness) > 0 else objectness[:, i].sum()
        return losses

    @staticmethod
    def _to_object_class(gt: InstanceData) -> InstanceData:
        """A copy of one image's ground truth with every label 0 ('object')."""
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

        Class-aware modes ('logits*<branch>') are mmdet's FCOS scoring with that
        branch as the score factor: score threshold and top-k on the class
        probabilities, then multiplied by the objectness; without
        ``with_score_components`` this is ``super()``'s code itself.
        Objectness-only modes are class-agnostic: one label (0), threshold and
        top-k on the objectness score itself. With ``with_score_components``
        the kept proposals also carry ``cls_prob`` (the probability of their
        class; the best class's in class-agnostic modes) and one probability
        per objectness branch.

        ``nms_pre`` is per FPN level, as in mmdet's FCOSHead and the FCOS
        reference implementation: up to ``nms_pre`` points of each level enter NMS.

        Args:
            cls_score_list: per level, (C, H, W) class logits of this image.
            bbox_pred_list: per level, (4, H, W) distances.
            score_factor_list: per level, (K, H, W) objectness logits.
            mlvl_priors: per level, (H * W, 2) points.
            img_meta: this image's meta information.
            cfg: test config (default ``self.test_cfg``).
            rescale: map boxes back to the original image size.
            with_nms: apply NMS.

        Returns:
            InstanceData: ``bboxes`` (P, 4) xyxy, ``scores`` (P,), ``labels``
            (P,), and the components when asked for.
        """
        cfg = self.test_cfg if cfg is None else cfg
        mode = self._check_score_mode(cfg)
        class_aware, needed = parse_score_mode(mode)
        keep_components = cfg.get('with_score_components', False)
        if class_aware and not keep_components:
            i = self.branches.index(needed[0])
            return super()._predict_by_feat_single(
                cls_score_list, bbox_pred_list, [f[i:i + 1] for f in score_factor_list],
                mlvl_priors, img_meta, cfg, rescale=rescale, with_nms=with_nms)
        nms_pre = cfg.get('nms_pre', -1)
        score_thr = cfg.get('score_thr', 0)
        out = {k: [] for k in ('bboxes', 'scores', 'labels', 'factors', 'comps')}
        for cls_score, bbox_pred, obj, priors in zip(cls_score_list, bbox_pred_list,
                                                     score_factor_list, mlvl_priors):
            bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, 4)
            cls_prob = self._cls_probs(cls_score.permute(1, 2, 0).reshape(-1,
                                                                          self.cls_out_channels))
            obj_prob = obj.permute(1, 2, 0).reshape(-1, len(self.branches)).sigmoid()
            comp = {b: obj_prob[:, i] for i, b in enumerate(self.branches)}
            scores = cls_prob if class_aware else combine_scores(mode, cls_prob, **comp)
            scores, labels, keep, _ = filter_scores_and_topk(scores, score_thr, nms_pre)
            out['bboxes'].append(self.bbox_coder.decode(priors[keep], bbox_pred[keep],
                                                        max_shape=img_meta['img_shape']))
            out['scores'].append(scores)
            out['labels'].append(labels)
            if class_aware:
                out['factors'].append(comp[needed[0]][keep])
            if keep_components:
                # the proposal's own class probability; class-agnostic: the best class
                c = {'cls_prob': scores if class_aware else cls_prob[keep].max(dim=1)[0]}
                c.update({b: comp[b][keep] for b in self.branches})
                out['comps'].append(c)
        results = InstanceData(bboxes=torch.cat(out['bboxes']),
                               scores=torch.cat(out['scores']),
                               labels=torch.cat(out['labels']))
        if class_aware:
            results.score_factors = torch.cat(out['factors'])
        for k in (out['comps'][0] if out['comps'] else {}):
            results.set_field(torch.cat([c[k] for c in out['comps']]), k)
        return self._bbox_post_process(results, cfg, rescale=rescale, with_nms=with_nms,
                                       img_meta=img_meta)

    def _cls_probs(self, cls_score: Tensor) -> Tensor:
        """(N, C) class probabilities from (N, C) logits, as mmdet's dense heads compute them."""
        if getattr(self.loss_cls, 'custom_cls_channels', False):
            return self.loss_cls.get_activation(cls_score)
        if self.use_sigmoid_cls:
            return cls_score.sigmoid()
        return cls_score.softmax(-1)[:, :-1]

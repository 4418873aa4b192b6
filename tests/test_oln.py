"""OLN (OLN-RPN, OLN-Box, OLN with classification) on tiny heads built from kwargs,
its configs, and a 2-iteration `mim train` of the shapes OLN-Box config."""
import math

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from owp.models import OLNBBoxHead, OLNRoIHead, OLNRPNHead
from owp.models.utils import anchor_centerness, geometric_mean, oln_scores

IMG = 32
STRIDES = (4, 8)


def rpn_train_cfg(objectness_neg_pos_ub=-1, num=256):
    """OLN's RPN training settings (borders allowed, so every anchor is a candidate)."""
    return ConfigDict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                      min_pos_iou=0.3, ignore_iof_thr=-1),
        sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                     add_gt_as_proposals=False),
        objectness_assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.3, neg_iou_thr=0.1,
                                 min_pos_iou=0.3, ignore_iof_thr=-1),
        objectness_sampler=dict(type='RandomSampler', num=num, pos_fraction=1.0,
                                neg_pos_ub=objectness_neg_pos_ub, add_gt_as_proposals=False),
        allowed_border=-1, pos_weight=-1, debug=False)


def make_rpn(train_cfg=None, **kw):
    cfg = dict(in_channels=2, feat_channels=4,
               anchor_generator=dict(type='AnchorGenerator', scales=[4], ratios=[1.0],
                                     strides=list(STRIDES)),
               bbox_coder=dict(type='TBLRBBoxCoder', normalizer=1.0),
               loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.0),
               reg_decoded_bbox=True,
               loss_bbox=dict(type='IoULoss', mode='linear', loss_weight=10.0),
               train_cfg=train_cfg if train_cfg is not None else rpn_train_cfg(),
               test_cfg=ConfigDict(nms_pre=1000, max_per_img=1000, nms=None, min_bbox_size=0))
    cfg.update(kw)
    torch.manual_seed(0)
    return OLNRPNHead(**cfg)


def rpn_feats(batch=1):
    torch.manual_seed(1)
    return tuple(torch.randn(batch, 2, IMG // s, IMG // s) for s in STRIDES)


def metas(batch=1):
    return [dict(img_shape=(IMG, IMG), pad_shape=(IMG, IMG), scale_factor=(1., 1.))] * batch


def gt(boxes):
    boxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    return InstanceData(bboxes=boxes, labels=torch.zeros(len(boxes), dtype=torch.long))


def all_anchors(head):
    sizes = [(IMG // s, IMG // s) for s in STRIDES]
    return torch.cat(head.prior_generator.grid_priors(sizes, device='cpu'))


# --- OLN-RPN --------------------------------------------------------------------------

def test_anchor_centerness_of_hand_built_anchors():
    # anchor centre (10, 10) in box (4, 2, 24, 12): l=6, t=8, r=14, b=2
    anchors = torch.tensor([[0., 0, 20, 20], [0, 0, 8, 8], [4, 2, 24, 12]])
    boxes = torch.tensor([[4., 2, 24, 12], [4, 2, 24, 12], [4, 2, 24, 12]])
    got = anchor_centerness(anchors, boxes)
    assert got[0].item() == pytest.approx(math.sqrt(6 / 14 * 2 / 8))
    assert got[1].item() == 0  # centre (4, 4) on the box's left side: not inside
    assert got[2].item() == pytest.approx(1.0)  # centred anchor


def test_rpn_head_from_kwargs():
    head = make_rpn()
    cls, reg, obj = head(rpn_feats(batch=2))
    for s, c, r, o in zip(STRIDES, cls, reg, obj):
        assert c.shape == o.shape == (2, 1, IMG // s, IMG // s)
        assert r.shape == (2, 4, IMG // s, IMG // s)
    with pytest.raises(ValueError, match='one.*scales=\\[8\\], ratios=\\[1.0\\]'):
        make_rpn(anchor_generator=dict(type='AnchorGenerator', scales=[4],
                                       ratios=[0.5, 1.0, 2.0], strides=list(STRIDES)))
    bad = rpn_train_cfg()
    del bad['objectness_sampler']
    with pytest.raises(KeyError, match='objectness_sampler'):
        make_rpn(train_cfg=bad)
    with pytest.raises(ValueError, match='score_mode'):
        make_rpn(test_cfg=ConfigDict(nms_pre=10, max_per_img=10, nms=None, score_mode='iou'))


def test_rpn_objectness_target_is_the_centerness_of_positives():
    """Every anchor with IoU >= 0.3 trains towards its centerness; with a sampler that
    draws no negatives (neg_pos_ub=0, OLN's paper), no other anchor carries any loss."""
    from mmdet.structures.bbox import bbox_overlaps
    head = make_rpn(train_cfg=rpn_train_cfg(objectness_neg_pos_ub=0, num=1000))
    box = [5., 3, 27, 19]
    sizes = [torch.Size((IMG // s, IMG // s)) for s in STRIDES]
    targets, weights = head.objectness_targets(sizes, [gt([box])], metas())
    anchors = all_anchors(head)
    iou = bbox_overlaps(anchors, torch.tensor([box])).squeeze(1)
    pos = iou >= 0.3
    assert pos.sum() >= 3 and (~pos).sum() > 0
    assert torch.equal(weights[0] > 0, pos)
    cx, cy = (anchors[:, 0] + anchors[:, 2]) / 2, (anchors[:, 1] + anchors[:, 3]) / 2
    left, top, right, bottom = cx - box[0], cy - box[1], box[2] - cx, box[3] - cy
    inside = (left > 0) & (top > 0) & (right > 0) & (bottom > 0)
    expect = torch.where(inside,
                         torch.sqrt(torch.minimum(left, right) / torch.maximum(left, right) *
                                    torch.minimum(top, bottom) / torch.maximum(top, bottom)),
                         torch.zeros(()))
    torch.testing.assert_close(targets[0][pos], expect[pos])
    assert (targets[0][~pos] == 0).all()


def test_rpn_objectness_loss_only_on_sampled_anchors():
    """OLN's sampler (positive fraction 1, neg_pos_ub=-1) fills the 256 with negatives
    (IoU < 0.1) at target 0; anchors between 0.1 and 0.3 never carry loss, and with
    neg_pos_ub=0 only the positives do: the gradient reaches exactly those anchors."""
    from mmdet.structures.bbox import bbox_overlaps
    box = [5., 3, 27, 19]
    iou = None
    for neg_pos_ub in (-1, 0):
        head = make_rpn(train_cfg=rpn_train_cfg(objectness_neg_pos_ub=neg_pos_ub))
        if iou is None:
            iou = bbox_overlaps(all_anchors(head), torch.tensor([box])).squeeze(1)
        cls, reg, obj = head(rpn_feats())
        obj = [o.detach().requires_grad_() for o in obj]
        losses = head.loss_by_feat(cls, reg, obj, [gt([box])], metas())
        losses['loss_rpn_obj'].backward()
        grad = torch.cat([o.grad.permute(0, 2, 3, 1).reshape(-1) for o in obj])
        carried = grad != 0
        assert carried[iou >= 0.3].all()
        assert not carried[(iou >= 0.1) & (iou < 0.3)].any()
        assert carried[iou < 0.1].any() == (neg_pos_ub == -1)


def test_rpn_empty_ground_truth_gives_zero_box_and_objectness_losses():
    head = make_rpn(train_cfg=rpn_train_cfg(objectness_neg_pos_ub=0))
    losses = head.loss_by_feat(*head(rpn_feats()), [gt([])], metas())
    assert sum(losses['loss_rpn_bbox']).item() == 0
    assert losses['loss_rpn_obj'].item() == 0
    # OLN's own sampler trains the (here: all 80) negatives towards 0, averaged as OLN
    # over the box sampler's draw, max(pos, 1) + max(neg, 1) = 1 + 80
    head = make_rpn()
    cls, reg, obj = head(rpn_feats())
    losses = head.loss_by_feat(cls, reg, obj, [gt([])], metas())
    assert sum(losses['loss_rpn_bbox']).item() == 0
    sig = torch.cat([o.reshape(-1) for o in obj]).sigmoid()
    assert len(sig) == 80
    assert losses['loss_rpn_obj'].item() == pytest.approx(sig.sum().item() / 81, rel=1e-5)


def test_rpn_proposals_are_scored_by_objectness_without_nms():
    head = make_rpn()
    cls, reg, obj = head(rpn_feats())
    reg = [torch.ones_like(r) for r in reg]  # every decoded box non-degenerate
    res = head.predict_by_feat(cls, reg, obj, batch_img_metas=metas(), rescale=False)[0]
    expect = torch.cat([o.reshape(-1) for o in obj]).sigmoid().sort(descending=True)[0]
    torch.testing.assert_close(res.scores, expect)  # all anchors: no NMS, no cut
    assert not torch.allclose(res.scores, torch.cat([c.reshape(-1) for c in cls])
                              .sigmoid().sort(descending=True)[0])


def test_nms_threshold_zero_is_not_no_nms():
    """Why OLN's `nms_thr=0.0` becomes `nms=None` (docs/design.md, "OLN"): mmcv's NMS
    at IoU threshold 0 drops every box that overlaps a better one at all."""
    from mmcv.ops import batched_nms
    boxes = torch.tensor([[0., 0, 10, 10], [1, 1, 11, 11], [9, 9, 20, 20], [30, 30, 40, 40]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    ids = torch.zeros(4, dtype=torch.long)
    _, keep = batched_nms(boxes, scores, ids, dict(type='nms', iou_threshold=0.0))
    assert keep.tolist() == [0, 3]
    _, keep = batched_nms(boxes, scores, ids, None)
    assert keep.tolist() == [0, 1, 2, 3]


# --- OLN-Box --------------------------------------------------------------------------

def make_roi_head(num_classes=1, loss_cls_weight=0.0, score_mode='sqrt(centerness*iou)'):
    torch.manual_seed(0)
    return OLNRoIHead(
        bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                out_channels=2, featmap_strides=list(STRIDES)),
        bbox_head=dict(type='OLNBBoxHead', in_channels=2, fc_out_channels=8, roi_feat_size=7,
                       num_classes=num_classes,
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       reg_class_agnostic=False,
                       loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False,
                                     loss_weight=loss_cls_weight),
                       loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=ConfigDict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            pos_weight=-1, debug=False),
        test_cfg=ConfigDict(score_mode=score_mode, score_thr=0.0,
                            nms=dict(type='nms', iou_threshold=0.7), max_per_img=100))


def data_sample(boxes, labels):
    from mmdet.structures import DetDataSample
    s = DetDataSample(metainfo=metas()[0])
    s.gt_instances = InstanceData(bboxes=torch.tensor(boxes), labels=torch.tensor(labels))
    return s


def test_box_iou_target_is_the_iou_of_the_proposal_box():
    """Proposal (0, 0, 10, 10) on box (0, 0, 10, 20) -> IoU 0.5 (hand-computed, also
    mmdet's bbox_overlaps); (0, 0, 10, 16) -> 0.8; the negative (20, 20, 30, 30) -> none."""
    from mmdet.structures.bbox import bbox_overlaps
    head = make_roi_head()
    torch.nn.init.zeros_(head.bbox_head.fc_bbox_score.weight)
    torch.nn.init.zeros_(head.bbox_head.fc_bbox_score.bias)  # every IoU score: 0.5
    proposals = torch.tensor([[0., 0, 10, 10], [0, 0, 10, 16], [20, 20, 30, 30]])
    rpn = [InstanceData(bboxes=proposals, scores=torch.ones(3), labels=torch.zeros(3).long())]
    losses = head.loss(rpn_feats(), rpn, [data_sample([[0., 0, 10, 20]], [2])])
    ious = bbox_overlaps(proposals[:2], torch.tensor([[0., 0, 10, 20]] * 2), is_aligned=True)
    torch.testing.assert_close(ious, torch.tensor([0.5, 0.8]))
    # L1 on the sigmoid, positives only, averaged over the 3 sampled RoIs
    expect = (abs(0.5 - 0.5) + abs(0.5 - 0.8)) / 3
    assert losses['loss_bbox_score'].item() == pytest.approx(expect, rel=1e-5)
    assert losses['loss_cls'].item() == 0  # OLN-Box: classifier weight 0
    # the one-class head learnt the class-2 box as 'object' (label 0): no index error,
    # and the regression loss is the class-0 channel's
    assert losses['loss_bbox'].item() > 0
    assert isinstance(head.bbox_head, OLNBBoxHead)


def test_final_score_is_the_geometric_mean():
    head = make_roi_head()
    torch.nn.init.zeros_(head.bbox_head.fc_bbox_score.weight)
    torch.nn.init.constant_(head.bbox_head.fc_bbox_score.bias, math.log(0.64 / 0.36))
    proposals = torch.tensor([[0., 0, 8, 8], [12, 12, 20, 20], [22, 2, 30, 12]])
    rpn_scores = torch.tensor([0.25, 0.81, 0.49])
    rpn = [InstanceData(bboxes=proposals, scores=rpn_scores, labels=torch.zeros(3).long())]
    res = head.predict_bbox(rpn_feats(), metas(), rpn, head.test_cfg)[0]
    expect = (rpn_scores * 0.64).sqrt().sort(descending=True)[0]  # 0.72, 0.56, 0.40
    torch.testing.assert_close(res.scores, expect)
    assert (res.labels == 0).all()
    torch.testing.assert_close(geometric_mean(torch.tensor([0.25]), torch.tensor([0.64])),
                               torch.tensor([0.4]))


def test_classification_variant_scores_and_loss_weights():
    cls_prob = torch.tensor([[0.5, 0.25], [0.1, 0.9]])
    got = oln_scores('logits*sqrt(centerness*iou)', torch.tensor([0.25, 1.0]),
                     torch.tensor([0.64, 0.36]), cls_prob)
    torch.testing.assert_close(got, torch.tensor([[0.2, 0.1], [0.06, 0.54]]))
    with pytest.raises(ValueError, match='loss_weight 0'):
        make_roi_head(score_mode='logits*sqrt(centerness*iou)')
    proposals = torch.tensor([[0., 0, 10, 10], [0, 0, 10, 16], [20, 20, 30, 30]])

    def rpn():  # RoI heads take the proposals' boxes out of the results (loss)
        return [InstanceData(bboxes=proposals, scores=torch.ones(3),
                             labels=torch.zeros(3).long())]
    for weight, num_classes in ((0.0, 1), (1.0, 3)):
        head = make_roi_head(num_classes=num_classes, loss_cls_weight=weight)
        losses = head.loss(rpn_feats(), rpn(), [data_sample([[0., 0, 10, 20]], [2])])
        total = sum(v for k, v in losses.items() if 'loss' in k)
        total.backward()
        trained = head.bbox_head.fc_cls.weight.grad.abs().sum().item() > 0
        assert trained == (weight > 0)  # OLN-Box never trains its classifier
        assert head.bbox_head.fc_bbox_score.weight.grad.abs().sum() > 0
    head.test_cfg.score_mode = 'logits*sqrt(centerness*iou)'
    res = head.predict_bbox(rpn_feats(), metas(), rpn(), head.test_cfg)[0]
    assert res.labels.max() < 3 and len(res) > 0


def test_score_components_are_those_of_each_kept_boxs_roi():
    """``with_score_components``: each kept box carries the RPN objectness and IoU score of
    the RoI it was decoded from (and its class probability), and nothing else changes."""
    from mmdet.structures.bbox import bbox2roi
    proposals = torch.tensor([[0., 0, 8, 8], [12, 12, 20, 20], [22, 2, 30, 12],
                              [2, 18, 14, 30], [16, 0, 24, 6]])
    rpn_scores = torch.tensor([0.3, 0.9, 0.5, 0.7, 0.2])
    for num_classes, weight, mode in ((1, 0.0, 'sqrt(centerness*iou)'),
                                      (3, 1.0, 'logits*sqrt(centerness*iou)')):
        head = make_roi_head(num_classes=num_classes, loss_cls_weight=weight, score_mode=mode)
        torch.nn.init.zeros_(head.bbox_head.fc_reg.weight)  # boxes = proposals
        torch.nn.init.zeros_(head.bbox_head.fc_reg.bias)
        torch.nn.init.normal_(head.bbox_head.fc_bbox_score.weight, std=1.0)
        torch.nn.init.normal_(head.bbox_head.fc_cls.weight, std=1.0)
        out = head._bbox_forward(rpn_feats(), bbox2roi([proposals]))
        iou = out['bbox_score'].reshape(-1).sigmoid()
        prob = out['cls_score'].softmax(-1)[:, :-1]

        def predict(components):
            cfg = ConfigDict(head.test_cfg, with_score_components=components)
            rpn = [InstanceData(bboxes=proposals, scores=rpn_scores,
                                labels=torch.zeros(5).long())]
            return head.predict_bbox(rpn_feats(), metas(), rpn, cfg)[0]
        plain, res = predict(False), predict(True)
        assert len(res) >= 4 and 'iou' not in plain
        for k in ('bboxes', 'scores', 'labels'):
            torch.testing.assert_close(res.get(k), plain.get(k))
        # the RoI of each kept box: its box is the proposal's (zero deltas)
        roi = (res.bboxes[:, None] == proposals[None]).all(-1).float().argmax(1)
        assert torch.equal(res.bboxes, proposals[roi])
        torch.testing.assert_close(res.centerness, rpn_scores[roi])
        torch.testing.assert_close(res.iou, iou[roi])
        if num_classes == 1:
            torch.testing.assert_close(res.cls_prob, prob[roi, 0])
            torch.testing.assert_close(res.scores, (res.centerness * res.iou).sqrt())
        else:
            torch.testing.assert_close(res.cls_prob, prob[roi, res.labels])
            torch.testing.assert_close(res.scores,
                                       res.cls_prob * (res.centerness * res.iou).sqrt())


# --- configs, training, evaluation ----------------------------------------------------

OLN_SHAPES = ['oln-rpn_r18-tiny_fpn_1k_shapes.py', 'oln-box_r18-tiny_fpn_1k_shapes.py',
              'oln-box-cls_r18-tiny_fpn_1k_shapes.py']


def _config(*parts):
    import os.path as osp

    from conftest import CONFIGS
    from mmengine.config import Config
    return Config.fromfile(osp.join(CONFIGS, *parts))


@pytest.mark.parametrize('name', OLN_SHAPES)
def test_shapes_oln_configs_differ_from_the_fcos_rows_only_in_the_model(name):
    """Same data, schedule, hooks and evaluation as the FCOS shapes rows (the lead may
    change the shapes schedule: these configs inherit it), same backbone and neck."""
    from conftest import SHAPES_ROOT_CONFIG
    from mmengine.config import Config
    fcos, oln = Config.fromfile(SHAPES_ROOT_CONFIG).to_dict(), _config('shapes', name).to_dict()
    for cfg in (fcos, oln):
        for key in ('val_evaluator', 'test_evaluator'):
            cfg[key].pop('base_ap', None)  # AP only where the model classifies
    assert {k: v for k, v in fcos.items() if k != 'model'} == \
        {k: v for k, v in oln.items() if k != 'model'}
    for key in ('backbone', 'neck', 'data_preprocessor'):
        assert oln['model'][key] == fcos['model'][key]


def test_coco_oln_configs_have_olns_settings():
    box = _config('coco', 'oln-box_r50_fpn_8e_coco-voc.py')
    assert box.train_cfg.max_epochs == 8 and box.optim_wrapper.optimizer.lr == 0.02
    assert 'clip_grad' not in box.optim_wrapper
    warmup, steps = box.param_scheduler
    assert (warmup.end, warmup.start_factor, warmup.by_epoch) == (500, 0.001, False)
    assert steps.milestones == [6, 7] and steps.by_epoch
    assert box.train_dataloader.batch_size * 8 == 16
    assert box.train_dataloader.sampler.type == 'DefaultSampler'
    assert box.model.backbone.init_cfg.checkpoint == 'torchvision://resnet50'
    rpn = box.model.rpn_head
    assert (rpn.anchor_generator.scales, rpn.anchor_generator.ratios) == ([8], [1.0])
    assert rpn.anchor_generator.strides == [4, 8, 16, 32, 64]
    assert rpn.loss_cls.loss_weight == 0 and rpn.loss_bbox.loss_weight == 10
    assert rpn.bbox_coder.type == 'TBLRBBoxCoder' and rpn.reg_decoded_bbox
    tr = box.model.train_cfg
    assert (tr.rpn.objectness_assigner.pos_iou_thr, tr.rpn.objectness_sampler.num,
            tr.rpn.objectness_sampler.pos_fraction) == (0.3, 256, 1.0)
    assert (tr.rcnn.sampler.num, tr.rcnn.sampler.pos_fraction, tr.rcnn.assigner.pos_iou_thr) \
        == (512, 0.25, 0.5)
    for cfg in (tr.rpn_proposal, box.model.test_cfg.rpn):
        assert cfg.nms is None and cfg.nms_pre == 2000 and cfg.max_per_img >= 5 * 2000
    rcnn = box.model.test_cfg.rcnn
    assert (rcnn.nms.iou_threshold, rcnn.max_per_img) == (0.7, 1500)
    assert box.model.roi_head.bbox_head.loss_cls.loss_weight == 0
    assert box.model.roi_head.bbox_roi_extractor.featmap_strides == [4, 8, 16, 32]
    assert not box.val_evaluator.base_ap
    cls = _config('coco', 'oln-box-cls_r50_fpn_8e_coco-voc.py')
    assert cls.model.roi_head.bbox_head.loss_cls.loss_weight == 1
    assert cls.model.roi_head.bbox_head.num_classes == cls.num_classes == 20
    assert cls.model.test_cfg.rcnn.score_mode == 'logits*sqrt(centerness*iou)'
    assert cls.val_evaluator.base_ap
    alone = _config('coco', 'oln-rpn_r50_fpn_8e_coco-voc.py')
    assert alone.model.type == 'RPN' and 'roi_head' not in alone.model
    assert alone.model.rpn_head == box.model.rpn_head
    assert alone.model.train_cfg.rpn == box.model.train_cfg.rpn


def test_proposal_test_cfg_finds_where_max_per_img_lives():
    from conftest import SHAPES_ROOT_CONFIG
    from mmengine.config import Config

    from owp.tools.eval_novel import _keep_enough_proposals
    from owp.utils import proposal_test_cfg
    for name, key in (('oln-box_r18-tiny_fpn_1k_shapes.py', 'rcnn'),
                      ('oln-rpn_r18-tiny_fpn_1k_shapes.py', 'rpn')):
        cfg = _config('shapes', name)
        block, dotted = proposal_test_cfg(cfg.model)
        assert block is cfg.model.test_cfg[key] and dotted == f'model.test_cfg.{key}'
    cfg = Config.fromfile(SHAPES_ROOT_CONFIG)
    assert proposal_test_cfg(cfg.model) == (cfg.model.test_cfg, 'model.test_cfg')
    block = _config('shapes', 'oln-box_r18-tiny_fpn_1k_shapes.py').model.test_cfg.rcnn
    _keep_enough_proposals(block, 2000, 'x.py', 'model.test_cfg.rcnn')
    assert block.max_per_img == 2000


def test_mim_train_and_eval_novel_two_stage(tiny_shapes, tmp_path, capsys):
    """2 iterations of the shapes OLN-Box through `mim train`, then model-mode
    eval_novel on its checkpoint: max_per_img is test_cfg.rcnn's (1500 -> 2000)."""
    import json
    import os
    import os.path as osp
    import subprocess
    import sys

    from conftest import CONFIGS, cfg_options_for

    from owp.tools.eval_novel import main
    config = osp.join(CONFIGS, 'shapes', 'oln-box_r18-tiny_fpn_1k_shapes.py')
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    work_dir = tmp_path / 'work'
    opts = cfg_options_for(config, tiny_shapes)
    cmd = [mim, 'train', 'mmdet', config, '--work-dir', str(work_dir),
           '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
           'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1', *opts]
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'Iter(train) [2/2]' in out and 'loss_rpn_obj' in out and 'loss_bbox_score' in out
    assert 'novel/AR@100' in out
    result = tmp_path / 'm.json'
    assert main([config, str(work_dir / 'iter_2.pth'), '--max-dets', '10,2000',
                 '--out', str(result), '--work-dir', str(tmp_path / 'eval'),
                 '--cfg-options', *opts]) == 0
    err = capsys.readouterr().err
    assert 'model.test_cfg.rcnn.max_per_img=1500' in err and 'raised to 2000' in err
    got = json.loads(result.read_text())
    assert {'AR@10', 'AR@2000', 'base/AR@2000'} <= set(got)

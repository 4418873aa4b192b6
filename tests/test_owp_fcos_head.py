"""OWPFCOSHead and its pure functions, on tiny heads and random per-stride features."""
import itertools

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData

from owp.models import OWPFCOSHead
from owp.models.utils import (
    centerness_target,
    combine_scores,
    iou_sampling,
    iou_target,
    objectness_train_mask,
    points_in_boxes,
    unknown_object_mask,
)

STRIDES = (8, 16)
IMG = 64


def make_head(**kw):
    test_cfg = kw.pop('test_cfg', {})
    cfg = dict(num_classes=3, in_channels=1, feat_channels=2, stacked_convs=1,
               strides=STRIDES, regress_ranges=((-1, 24), (24, 1e8)), norm_cfg=None,
               center_sampling=True, center_sample_radius=1.5, norm_on_bbox=True,
               centerness_on_reg=True,
               test_cfg=ConfigDict(dict(nms_pre=200, score_thr=0.0, min_bbox_size=0,
                                        nms=dict(type='nms', iou_threshold=0.6),
                                        max_per_img=50, **test_cfg)))
    cfg.update(kw)
    torch.manual_seed(0)
    head = OWPFCOSHead(**cfg)
    # boxes of ~1.5 strides per side, so that predicted and target boxes overlap
    torch.nn.init.constant_(head.conv_reg.bias, 1.5)
    return head


def feats(batch=2):
    torch.manual_seed(1)
    return tuple(torch.randn(batch, 1, IMG // s, IMG // s) for s in STRIDES)


def gts(batch=2, empty=False):
    out = []
    for i in range(batch):
        g = InstanceData()
        if empty:
            g.bboxes = torch.zeros(0, 4)
            g.labels = torch.zeros(0, dtype=torch.long)
        else:
            g.bboxes = torch.tensor([[4., 6, 30, 28], [20, 16, 60, 62]]) + i
            g.labels = torch.tensor([0, 2])
        out.append(g)
    return out


METAS = [dict(img_shape=(IMG, IMG), pad_shape=(IMG, IMG), scale_factor=(1., 1.))] * 2

# (branches, sampling, iou_sampling_thr, score_mode, cls_mode, conditional) used by configs
COMBOS = [
    (('centerness', ), 'center', None, 'logits*centerness', 'joint', False),
    (('centerness', ), 'center', None, 'centerness', 'untrained', False),
    (('iou', ), 'inside', None, 'iou', 'untrained', False),
    (('centerness', 'iou'), 'inside', None, 'sqrt(centerness*iou)', 'untrained', False),
    (('iou', ), 'center', 0.3, 'iou', 'untrained', False),
    (('iou', ), 'center', 0.3, 'iou', 'untrained', True),
    (('iou', ), 'center', 0.3, 'logits*iou', 'joint', False),
    (('iou', ), 'all', None, 'iou', 'agnostic', False),
    (('centerness', 'iou'), 'all', 0.3, 'logits*centerness', 'joint', True),
]


@pytest.mark.parametrize('branches, sampling, thr, mode, cls_mode, cond', COMBOS)
def test_forward_loss_predict(branches, sampling, thr, mode, cls_mode, cond):
    head = make_head(objectness_branches=branches, objectness_sampling=sampling,
                     iou_sampling_thr=thr, cls_mode=cls_mode, conditional_objectness=cond,
                     test_cfg=dict(score_mode=mode, with_score_components=True))
    x = feats()
    cls, box, obj = head(x)
    assert [o.shape[1] for o in obj] == [len(branches)] * len(STRIDES)
    losses = head.loss_by_feat(cls, box, obj, gts(), METAS)
    assert ('loss_cls' in losses) == (cls_mode != 'untrained')
    for b in branches:
        assert torch.isfinite(losses[f'loss_{b}']) and losses[f'loss_{b}'] > 0
    sum(losses.values()).backward()
    head.eval()
    with torch.no_grad():
        res = head.predict_by_feat(*head(x), batch_img_metas=METAS, rescale=False)
    r = res[0]
    assert 0 < len(r) <= 50
    assert torch.isfinite(r.scores).all() and (r.scores >= 0).all() and (r.scores <= 1).all()
    assert set(b for b in branches) <= set(r.keys()) and 'cls_prob' in r.keys()
    if not mode.startswith('logits'):
        assert (r.labels == 0).all()  # class-agnostic: one 'object' label
        expected = combine_scores(mode, r.cls_prob[:, None], r.get('centerness'), r.get('iou'))
        torch.testing.assert_close(r.scores, expected[:, 0])
    else:
        branch = mode.split('*')[1]
        assert (r.scores <= r.get(branch) + 1e-6).all()


def test_default_is_stock_fcos():
    """With default options the head computes exactly mmdet's FCOSHead."""
    from mmdet.models.dense_heads import FCOSHead
    owp = make_head()
    kw = dict(num_classes=3, in_channels=1, feat_channels=2, stacked_convs=1, strides=STRIDES,
              regress_ranges=((-1, 24), (24, 1e8)), norm_cfg=None, center_sampling=True,
              center_sample_radius=1.5, norm_on_bbox=True, centerness_on_reg=True,
              test_cfg=owp.test_cfg)
    torch.manual_seed(0)
    stock = FCOSHead(**kw)
    stock.load_state_dict(owp.state_dict())  # same parameter names: checkpoints interchange
    x = feats()
    a, b = owp(x), stock(x)
    for u, v in zip(a, b):
        for p, q in zip(u, v):
            torch.testing.assert_close(p, q)
    la = owp.loss_by_feat(*a, gts(), METAS)
    lb = stock.loss_by_feat(*b, gts(), METAS)
    for k in ('loss_cls', 'loss_bbox', 'loss_centerness'):
        torch.testing.assert_close(la[k], lb[k])
    owp.eval(), stock.eval()
    with torch.no_grad():
        ra = owp.predict_by_feat(*owp(x), batch_img_metas=METAS)[0]
        rb = stock.predict_by_feat(*stock(x), batch_img_metas=METAS)[0]
    torch.testing.assert_close(ra.bboxes, rb.bboxes)
    torch.testing.assert_close(ra.scores, rb.scores)
    assert torch.equal(ra.labels, rb.labels)


@pytest.mark.parametrize('opts', [
    dict(centerness_on_reg=False, norm_on_bbox=False, center_sampling=False),  # mmdet defaults
    dict(centerness_on_reg=False, norm_on_bbox=True, center_sampling=True),
])
def test_stock_fcos_equality_beyond_the_default_head(opts):
    """Centerness on the classification tower (fused into conv_cls), exp() boxes:
    still mmdet's FCOSHead, outputs, losses and predictions."""
    from mmdet.models.dense_heads import FCOSHead
    owp = make_head(**opts)
    kw = dict(num_classes=3, in_channels=1, feat_channels=2, stacked_convs=1, strides=STRIDES,
              regress_ranges=((-1, 24), (24, 1e8)), norm_cfg=None, test_cfg=owp.test_cfg,
              **opts)
    stock = FCOSHead(**kw)
    stock.load_state_dict(owp.state_dict())
    if not opts['norm_on_bbox']:  # exp() boxes: start small
        for head in (owp, stock):
            torch.nn.init.constant_(head.conv_reg.bias, 2.0)
    x = feats()
    a, b = owp(x), stock(x)
    for u, v in zip(a, b):
        for p, q in zip(u, v):
            torch.testing.assert_close(p, q)
    la = owp.loss_by_feat(*a, gts(), METAS)
    lb = stock.loss_by_feat(*b, gts(), METAS)
    assert la.keys() == lb.keys()
    for k in lb:
        torch.testing.assert_close(la[k], lb[k])
    owp.eval(), stock.eval()
    with torch.no_grad():
        ra = owp.predict_by_feat(*owp(x), batch_img_metas=METAS)[0]
        rb = stock.predict_by_feat(*stock(x), batch_img_metas=METAS)[0]
    assert len(ra) > 0
    torch.testing.assert_close(ra.bboxes, rb.bboxes)
    torch.testing.assert_close(ra.scores, rb.scores)
    assert torch.equal(ra.labels, rb.labels)


def test_iou_target_hand_computed():
    pred = torch.tensor([[2., 3, 4, 5], [1, 1, 1, 1], [0, 0, 0, 0]])
    tgt = torch.tensor([[3., 2, 2, 6], [1, 1, 1, 1], [0, 0, 0, 0]])
    # box 0: pred x in [-2, 4], y in [-3, 5]; target x in [-3, 2], y in [-2, 6]
    inter = (2 - (-2)) * (5 - (-2))
    union = 6 * 8 + 5 * 8 - inter
    out = iou_target(pred, tgt)
    torch.testing.assert_close(out, torch.tensor([inter / union, 1.0, 0.0]))
    assert not torch.isnan(out).any()


def test_centerness_target():
    t = torch.tensor([[1., 2, 3, 4], [0, 1, 1, 1]])
    out = centerness_target(t)
    torch.testing.assert_close(out[0], torch.tensor((1 / 3 * 2 / 4) ** 0.5))
    assert out[1] == 0


def test_iou_sampling_zeroes_exactly_below_thr():
    t = torch.tensor([0.0, 0.1, 0.29, 0.3, 0.31, 0.9])
    torch.testing.assert_close(iou_sampling(t, 0.3), torch.tensor([0, 0, 0, 0.3, 0.31, 0.9]))
    assert iou_sampling(t, None) is t


def test_sampling_masks():
    center = torch.tensor([True, False, False, False])
    inside = torch.tensor([True, True, False, False])
    assert objectness_train_mask('center', center, inside).tolist() == center.tolist()
    assert objectness_train_mask('inside', center, inside).tolist() == inside.tolist()
    assert objectness_train_mask('all', center, inside).all()


def _capture_targets(head, monkeypatch):
    """Record (pred, target) of each objectness loss call."""
    seen = {}
    for b in head.branches:
        fn = head.loss_centerness if b == 'centerness' else head.loss_iou
        orig = fn.forward

        def hook(pred, target, *a, _b=b, _orig=orig, **k):
            seen[_b] = (pred.detach(), target.detach())
            return _orig(pred, target, *a, **k)
        monkeypatch.setattr(fn, 'forward', hook)
    return seen


def test_all_sampling_background_targets_are_zero(monkeypatch):
    head = make_head(objectness_branches=('iou', ), objectness_sampling='all')
    seen = _capture_targets(head, monkeypatch)
    x = feats()
    head.loss_by_feat(*head(x), gts(), METAS)
    pred, target = seen['iou']
    n_points = sum(2 * (IMG // s) ** 2 for s in STRIDES)
    assert pred.numel() == n_points  # every point trains the branch
    inside = make_head(objectness_branches=('iou', ), objectness_sampling='inside')
    seen_in = _capture_targets(inside, monkeypatch)
    inside.loss_by_feat(*inside(x), gts(), METAS)
    n_inside = seen_in['iou'][1].numel()
    assert 0 < n_inside < n_points
    assert (target > 0).sum() <= n_inside and (target == 0).sum() >= n_points - n_inside


def test_iou_sampling_in_the_head(monkeypatch):
    plain = make_head(objectness_branches=('iou', ), objectness_sampling='inside')
    sampled = make_head(objectness_branches=('iou', ), objectness_sampling='inside',
                        iou_sampling_thr=0.3)
    a, b = _capture_targets(plain, monkeypatch), _capture_targets(sampled, monkeypatch)
    x = feats()
    plain.loss_by_feat(*plain(x), gts(), METAS)
    sampled.loss_by_feat(*sampled(x), gts(), METAS)
    ta, tb = a['iou'][1], b['iou'][1]
    torch.testing.assert_close(tb, torch.where(ta < 0.3, torch.zeros_like(ta), ta))
    assert (ta < 0.3).any() and (ta >= 0.3).any()  # both cases occur


def test_iou_target_in_the_head_matches_decoded_boxes(monkeypatch):
    head = make_head(objectness_branches=('iou', ), objectness_sampling='center')
    seen = _capture_targets(head, monkeypatch)
    cls, box, obj = head(feats())
    head.loss_by_feat(cls, box, obj, gts(), METAS)
    # recompute by hand for the positives: IoU of decoded pred and target boxes
    points = head.prior_generator.grid_priors([c.shape[-2:] for c in cls], device='cpu')
    labels, targets = head.get_targets(points, gts())
    flat_t = torch.cat(targets)
    flat_b = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4) for b in box]).detach()
    pos = torch.cat(labels) < head.num_classes
    p, t = flat_b[pos], flat_t[pos]
    pb = torch.stack([-p[:, 0], -p[:, 1], p[:, 2], p[:, 3]], 1)
    tb = torch.stack([-t[:, 0], -t[:, 1], t[:, 2], t[:, 3]], 1)
    from mmdet.structures.bbox import bbox_overlaps
    ref = bbox_overlaps(pb, tb, is_aligned=True)
    torch.testing.assert_close(seen['iou'][1], ref, atol=1e-5, rtol=1e-5)


def outside_gts(points, batch=2):
    """(N,) bool in the loss' flat order (level, image, point): outside every gt box."""
    return torch.cat([~points_in_boxes(p, g.bboxes) for p in points for g in gts(batch)])


def test_unknown_object_mask_pure():
    logits = torch.logit(torch.tensor([0.99, 0.96, 0.5, 0.97]))
    bg = torch.tensor([True, True, True, False])
    assert unknown_object_mask(logits, bg, 0.95).tolist() == [True, True, False, False]


@pytest.mark.parametrize('it, expect_masking', [(4, False), (5, True), (9, True)])
def test_masking_starts_at_the_iteration(it, expect_masking):
    head = make_head(objectness_branches=('iou', ),
                     unknown_masking=dict(thr=0.5, start_iter=5))
    torch.nn.init.constant_(head.conv_iou.bias, 3.0)  # every point looks like an object
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', it)
    try:
        x = feats()
        cls, box, obj = head(x)
        losses = head.loss_by_feat(cls, box, obj, gts(), METAS)
    finally:
        hub.update_info('iter', 0)
    assert ('num_unknown_masked' in losses) == expect_masking
    if expect_masking:
        points = head.prior_generator.grid_priors([c.shape[-2:] for c in cls], device='cpu')
        labels = torch.cat(head.get_targets(points, gts())[0])
        flat_obj = torch.cat([o.permute(0, 2, 3, 1).reshape(-1) for o in obj]).sigmoid()
        bg = labels == head.num_classes
        outside = outside_gts(points)
        assert (bg & ~outside).any()  # FCOS negatives inside boxes exist, and are kept
        expected = (bg & outside & (flat_obj > 0.5)).sum()
        assert losses['num_unknown_masked'] == expected > 0


def test_masking_removes_exactly_those_points_from_the_cls_loss():
    head = make_head(objectness_branches=('iou', ), unknown_masking=dict(thr=0.6))
    x = feats()
    cls, box, obj = head(x)
    points = head.prior_generator.grid_priors([c.shape[-2:] for c in cls], device='cpu')
    labels = torch.cat(head.get_targets(points, gts())[0])
    flat_obj = torch.cat([o.permute(0, 2, 3, 1).reshape(-1) for o in obj])
    bg_like_object = (labels == head.num_classes) & (flat_obj.sigmoid() > 0.6)
    drop = bg_like_object & outside_gts(points)
    assert drop.any() and (~drop).any()
    assert (bg_like_object & ~drop).any()  # object-like negatives inside a gt box stay
    flat_cls = torch.cat([c.permute(0, 2, 3, 1).reshape(-1, 3) for c in cls])
    num_pos = max(float((labels < head.num_classes).sum()), 1.0)
    expected = head.loss_cls(flat_cls[~drop], labels[~drop], avg_factor=num_pos)
    got = head.loss_by_feat(cls, box, obj, gts(), METAS)['loss_cls']
    torch.testing.assert_close(got, expected)


def test_unknown_area_masking_grows_the_mask():
    kw = dict(objectness_branches=('iou', ))
    point = make_head(unknown_masking=dict(thr=0.6), **kw)
    area = make_head(unknown_masking=dict(thr=0.6, area=True), **kw)
    area_nms = make_head(unknown_masking=dict(thr=0.6, area=True, area_nms_iou=0.3), **kw)
    x = feats()
    n = [h.loss_by_feat(*h(x), gts(), METAS)['num_unknown_masked']
         for h in (point, area, area_nms)]
    assert n[0] < n[1] and n[0] <= n[2] <= n[1]


def test_points_in_boxes():
    pts = torch.tensor([[5., 5], [15, 15], [0, 0]])
    boxes = torch.tensor([[0., 0, 10, 10]])
    assert points_in_boxes(pts, boxes).tolist() == [True, False, False]
    assert not points_in_boxes(pts, boxes[:0]).any()


def test_untrained_cls_gets_no_gradient_and_does_not_move():
    head = make_head(cls_mode='untrained', objectness_branches=('iou', ))
    frozen = {n: p.detach().clone() for n, p in head.named_parameters()
              if n.startswith(('conv_cls', 'cls_convs'))}
    assert frozen
    opt = torch.optim.SGD([p for p in head.parameters()], lr=0.5, momentum=0.9,
                          weight_decay=0.1)
    for _ in range(2):
        opt.zero_grad()
        losses = head.loss_by_feat(*head(feats()), gts(), METAS)
        assert 'loss_cls' not in losses
        sum(losses.values()).backward()
        opt.step()
    for n, p in head.named_parameters():
        if n in frozen:
            assert p.grad is None, n
            assert torch.equal(p, frozen[n]), n
    assert not torch.equal(head.conv_reg.weight, head.conv_reg.weight.detach() * 0)


def test_agnostic_mode_has_one_class():
    head = make_head(cls_mode='agnostic', objectness_branches=('iou', ))
    assert head.num_classes == 1 and head.conv_cls.out_channels == 1
    losses = head.loss_by_feat(*head(feats()), gts(), METAS)
    assert torch.isfinite(losses['loss_cls'])


def test_weights_load_across_cls_modes():
    frozen = make_head(cls_mode='untrained', objectness_branches=('iou', ))
    joint = make_head(cls_mode='joint', objectness_branches=('iou', ),
                      unknown_masking=dict(thr=0.95, start_iter=1))
    joint.load_state_dict(frozen.state_dict(), strict=True)


def reference_forward(head, x):
    """The conditional head written plainly: each objectness conv on cat(reg_feat, boxes)."""
    from mmdet.models.dense_heads.anchor_free_head import AnchorFreeHead
    outs = []
    for feat, scale, stride in zip(x, head.scales, head.strides):
        cls_score, bbox_pred, _, reg_feat = AnchorFreeHead.forward_single(head, feat)
        bbox_pred = scale(bbox_pred).float().clamp(min=0)  # training scale (norm_on_bbox)
        inp = torch.cat([reg_feat, bbox_pred], dim=1)
        obj = torch.cat([getattr(head, f'conv_{b}')(inp) for b in head.branches], dim=1)
        outs.append((cls_score, bbox_pred, obj))
    return outs


def test_conditional_input_channels_and_scale():
    head = make_head(objectness_branches=('centerness', 'iou'), conditional_objectness=True)
    assert head.conv_iou.in_channels == head.feat_channels + 4
    assert head.conv_centerness.in_channels == head.feat_channels + 4
    for conv in (head.conv_iou, head.conv_centerness):  # make the box channels matter
        torch.nn.init.normal_(conv.weight, std=1.0)
    x = feats()
    ref = reference_forward(head, x)
    head.train()
    cls_t, box_t, obj_t = head(x)
    head.eval()
    with torch.no_grad():
        cls_e, box_e, obj_e = head(x)
    for lvl, stride in enumerate(STRIDES):
        r_cls, r_box, r_obj = ref[lvl]
        torch.testing.assert_close(cls_t[lvl], r_cls)
        torch.testing.assert_close(box_t[lvl], r_box)
        # the objectness of feature+4 channels, the boxes on the training scale,
        # in train and in eval mode (where the returned boxes are x stride)
        torch.testing.assert_close(obj_t[lvl], r_obj)
        torch.testing.assert_close(obj_e[lvl], r_obj)
        torch.testing.assert_close(box_e[lvl], r_box * stride)
        assert not torch.allclose(box_e[lvl], box_t[lvl])


@pytest.mark.parametrize('on_reg', [True, False])
def test_fused_objectness_convs_equal_separate_convs(on_reg):
    """Folding the objectness convs into conv_cls/conv_reg changes no output."""
    head = make_head(objectness_branches=('centerness', 'iou'), centerness_on_reg=on_reg)
    from mmdet.models.dense_heads.anchor_free_head import AnchorFreeHead
    x = feats()
    cls, box, obj = head(x)
    for lvl, (feat, scale) in enumerate(zip(x, head.scales)):
        r_cls, r_box, cls_feat, reg_feat = AnchorFreeHead.forward_single(head, feat)
        torch.testing.assert_close(cls[lvl], r_cls)
        torch.testing.assert_close(box[lvl], scale(r_box).clamp(min=0))
        ctr_in = reg_feat if on_reg else cls_feat
        torch.testing.assert_close(obj[lvl][:, :1], head.conv_centerness(ctr_in))
        torch.testing.assert_close(obj[lvl][:, 1:], head.conv_iou(reg_feat))


@pytest.mark.parametrize('detach', [True, False])
def test_conditional_detach(detach):
    head = make_head(objectness_branches=('iou', ), conditional_objectness=True,
                     conditional_detach=detach)
    cls, box, obj = head(feats())
    sum(o.sum() for o in obj).backward()
    got_grad = head.conv_reg.weight.grad is not None and head.conv_reg.weight.grad.abs().sum() > 0
    assert got_grad == (not detach)


@pytest.mark.parametrize('branches, sampling', list(itertools.product(
    [('centerness', ), ('iou', ), ('centerness', 'iou')], ['center', 'inside'])))
def test_empty_gt_gives_zero_box_and_objectness_loss(branches, sampling):
    head = make_head(objectness_branches=branches, objectness_sampling=sampling)
    losses = head.loss_by_feat(*head(feats()), gts(empty=True), METAS)
    assert losses['loss_bbox'] == 0
    for b in branches:
        assert losses[f'loss_{b}'] == 0
    assert torch.isfinite(losses['loss_cls']) and losses['loss_cls'] > 0


def test_degenerate_predictions_give_no_nan():
    head = make_head(objectness_branches=('centerness', 'iou'), objectness_sampling='all',
                     iou_sampling_thr=0.3)
    for p in head.conv_reg.parameters():
        torch.nn.init.constant_(p, 0.0)  # every box has zero size
    cls, box, obj = head(feats())
    losses = head.loss_by_feat(cls, box, obj, gts(), METAS)
    for k, v in losses.items():
        assert torch.isfinite(v).all(), k
    sum(losses.values()).backward()
    for n, p in head.named_parameters():
        if p.grad is not None:
            assert torch.isfinite(p.grad).all(), n


def test_predict_objectness_maps():
    head = make_head(objectness_branches=('centerness', 'iou'))
    maps = head.predict_objectness_maps(feats())
    assert len(maps) == len(STRIDES)
    assert maps[0]['iou'].shape == (2, IMG // STRIDES[0], IMG // STRIDES[0])
    assert ((maps[1]['centerness'] >= 0) & (maps[1]['centerness'] <= 1)).all()


@pytest.mark.parametrize('kw, words', [
    (dict(objectness_branches=('iou', ), test_cfg=dict(score_mode='centerness')),
     "score_mode='centerness' needs objectness branch"),
    (dict(test_cfg=dict(score_mode='iou')), "score_mode='iou' needs"),
    (dict(test_cfg=dict(score_mode='logits')), 'score_mode must be one of'),
    (dict(objectness_sampling='near'), "objectness_sampling must be one of .*'near'"),
    (dict(objectness_branches=()), 'objectness_branches must be a non-empty subset'),
    (dict(objectness_branches=('dice', )), 'objectness_branches'),
    (dict(cls_mode='untrained', unknown_masking=dict(thr=0.9)), 'cls_mode=.untrained'),
    (dict(unknown_masking=dict(thr=0.9, branch='iou')), "branch='iou' needs"),
    (dict(unknown_masking=dict(thr=1.5)), 'unknown_masking.thr'),
    (dict(unknown_masking=dict(thr=0.9, start=3)), 'unknown keys'),
    (dict(cls_mode='both'), 'cls_mode must be one of'),
    (dict(iou_sampling_thr=1.2), 'iou_sampling_thr'),
    (dict(unknown_masking=dict(thr=0.9, start_iter='5k')), 'start_iter must be an int'),
    (dict(unknown_masking=dict(thr=0.9, start_iter=-1)), 'start_iter must be an int'),
    (dict(unknown_masking=dict(thr=0.9, area='no')), 'area must be True or False'),
    (dict(unknown_masking=dict(thr=0.9, area_nms_iou=0.5)), 'only acts with area=True'),
    (dict(unknown_masking=dict(thr=0.9, area=True, area_nms_iou=1.5)),
     r'area_nms_iou must be in \(0, 1\]'),
    (dict(cls_mode='untrained', objectness_branches=('iou', ),
          test_cfg=dict(score_mode='logits*iou')), "classifier that cls_mode='untrained' never"),
    (dict(cls_mode='untrained', centerness_on_reg=False), 'set centerness_on_reg=True'),
    (dict(cls_predictor_cfg=dict(type='NormedConv2d')), 'cls_predictor_cfg'),
])
def test_invalid_options_fail_at_build(kw, words):
    with pytest.raises(ValueError, match=words):
        make_head(**kw)


def test_unknown_area_masking_never_drops_points_inside_gt_boxes():
    head = make_head(objectness_branches=('iou', ), unknown_masking=dict(thr=0.6, area=True))
    cls, box, obj = head(feats())
    points = head.prior_generator.grid_priors([c.shape[-2:] for c in cls], device='cpu')
    labels = torch.cat(head.get_targets(points, gts())[0])
    flat = [torch.cat([t.permute(0, 2, 3, 1).reshape(-1, t.size(1)) for t in ts])
            for ts in (obj, box)]
    flat_points = torch.cat([p.repeat(2, 1) for p in points])
    drop = head._unknown_mask(flat[0], labels, flat[1], flat_points, points, gts())
    point_only = (labels == head.num_classes) & outside_gts(points) & \
        (flat[0][:, 0].sigmoid() > 0.6)
    assert (drop & ~point_only).any()  # the area grew the mask ...
    assert not (drop & ~outside_gts(points)).any()  # ... but never into a gt box
    assert not (drop & (labels != head.num_classes)).any()


@pytest.mark.parametrize('branches, mode', [(('centerness', ), 'centerness'), (('iou', ), 'iou'),
                                            (('centerness', 'iou'), 'sqrt(centerness*iou)')])
def test_untrained_classifier_defaults_to_objectness_scoring(branches, mode):
    assert make_head(cls_mode='untrained', objectness_branches=branches).score_mode == mode
    assert make_head(objectness_branches=branches).score_mode.startswith('logits')


def test_cls_prob_component_is_the_proposals_own_class_probability():
    head = make_head(objectness_branches=('iou', ),
                     test_cfg=dict(score_mode='logits*iou', with_score_components=True))
    head.eval()
    with torch.no_grad():
        res = head.predict_by_feat(*head(feats(1)), batch_img_metas=METAS[:1], rescale=False)[0]
    assert len(res) > 0
    torch.testing.assert_close(res.scores, res.cls_prob * res.iou)


def test_agnostic_checkpoint_loads_into_a_class_aware_head():
    agnostic = make_head(cls_mode='agnostic', objectness_branches=('iou', ))
    joint = make_head(objectness_branches=('iou', ))
    sd = agnostic.state_dict()
    assert sd['conv_cls.weight'].shape[0] == 1 and joint.conv_cls.weight.shape[0] == 3
    joint.load_state_dict(sd, strict=True)
    for name in ('weight', 'bias'):
        got = getattr(joint.conv_cls, name)
        torch.testing.assert_close(got, sd[f'conv_cls.{name}'].expand_as(got))
    torch.testing.assert_close(joint.conv_iou.weight, agnostic.conv_iou.weight)
    # frozen <-> joint: same shapes, strict both ways
    make_head(cls_mode='untrained', objectness_branches=('iou', )).load_state_dict(
        joint.state_dict(), strict=True)


def test_deprecated_cls_mode_frozen_is_untrained():
    with pytest.warns(DeprecationWarning, match="cls_mode='untrained'"):
        old = make_head(cls_mode='frozen', objectness_branches=('iou', ))
    new = make_head(cls_mode='untrained', objectness_branches=('iou', ))
    assert old.cls_mode == 'untrained' and old.score_mode == new.score_mode == 'iou'
    assert not any(p.requires_grad for p in old.conv_cls.parameters())
    la = old.loss_by_feat(*old(feats()), gts(), METAS)
    lb = new.loss_by_feat(*new(feats()), gts(), METAS)
    assert la.keys() == lb.keys() and 'loss_cls' not in la
    for k in la:
        torch.testing.assert_close(la[k], lb[k])


def test_custom_accuracy_losses_behave_as_in_mmdet():
    """A classification loss with ``custom_accuracy`` adds its accuracy, as FCOSHead does."""
    from mmdet.models.dense_heads import FCOSHead
    loss_cls = dict(type='CrossEntropyCustomLoss', num_classes=3, use_sigmoid=False,
                    loss_weight=1.0)
    owp = make_head(loss_cls=loss_cls)
    torch.manual_seed(0)
    stock = FCOSHead(num_classes=3, in_channels=1, feat_channels=2, stacked_convs=1,
                     strides=STRIDES, regress_ranges=((-1, 24), (24, 1e8)), norm_cfg=None,
                     center_sampling=True, center_sample_radius=1.5, norm_on_bbox=True,
                     centerness_on_reg=True, loss_cls=loss_cls, test_cfg=owp.test_cfg)
    stock.load_state_dict(owp.state_dict())
    la = owp.loss_by_feat(*owp(feats()), gts(), METAS)
    lb = stock.loss_by_feat(*stock(feats()), gts(), METAS)
    assert set(la) == set(lb) and len(set(la) - {'loss_cls', 'loss_bbox', 'loss_centerness'}) > 0
    for k in lb:
        torch.testing.assert_close(la[k], lb[k])


def test_a_new_objectness_cue_is_one_table_line(monkeypatch):
    """CONTRIBUTING.md's recipe: a pure target function + one OBJECTNESS_BRANCHES line."""
    from owp.models.dense_heads import owp_fcos_head as mod

    def half_iou(pred_ltrb, target_ltrb):
        return 0.5 * iou_target(pred_ltrb, target_ltrb)
    monkeypatch.setitem(mod.OBJECTNESS_BRANCHES, 'half_iou',
                        mod.ObjectnessBranch(half_iou, 'reg', 'loss_iou'))
    head = make_head(objectness_branches=('iou', 'half_iou'), objectness_sampling='inside',
                     test_cfg=dict(score_mode='sqrt(iou*half_iou)', with_score_components=True))
    assert head.conv_half_iou.in_channels == head.feat_channels
    seen = {}
    orig = head.loss_iou.forward

    def record(pred, target, *a, **k):
        seen.setdefault('targets', []).append(target.detach())
        return orig(pred, target, *a, **k)
    monkeypatch.setattr(head.loss_iou, 'forward', record)
    losses = head.loss_by_feat(*head(feats()), gts(), METAS)
    assert {'loss_iou', 'loss_half_iou'} <= set(losses)
    iou_t, half_t = seen['targets']
    torch.testing.assert_close(half_t, 0.5 * iou_t)
    head.eval()
    with torch.no_grad():
        r = head.predict_by_feat(*head(feats()), batch_img_metas=METAS, rescale=False)[0]
    torch.testing.assert_close(r.scores, (r.iou * r.half_iou).sqrt())


@pytest.mark.parametrize('branches, mode', [(('centerness', ), 'logits*centerness'),
                                            (('centerness', 'iou'), 'logits*iou')])
def test_score_components_do_not_change_class_aware_predictions(branches, mode):
    """With components the head takes its own path; without, mmdet's (super()): same boxes."""
    x = feats()
    out = []
    for comps in (False, True):
        head = make_head(objectness_branches=branches,
                         test_cfg=dict(score_mode=mode, with_score_components=comps))
        head.eval()
        with torch.no_grad():
            out.append(head.predict_by_feat(*head(x), batch_img_metas=METAS)[0])
    assert len(out[0]) > 0 and 'cls_prob' in out[1] and 'cls_prob' not in out[0]
    for k in ('bboxes', 'scores', 'labels'):
        torch.testing.assert_close(out[0].get(k), out[1].get(k))


def test_parse_score_mode_and_combine_scores_for_any_branch():
    from owp.models.utils import SCORE_MODES, parse_score_mode
    for mode, branches in SCORE_MODES.items():  # the paper's modes
        assert parse_score_mode(mode) == (mode.startswith('logits'), branches)
    assert parse_score_mode('logits*dice') == (True, ('dice', ))
    assert parse_score_mode('sqrt(iou*dice)') == (False, ('iou', 'dice'))
    for bad in ('logits', 'logits*', 'sqrt(iou*iou)', 'iou+dice', 'sqrt(iou)'):
        assert parse_score_mode(bad)[1] == (), bad
    cls_prob = torch.tensor([[.5, .2], [.1, .8]])
    dice, iou = torch.tensor([.4, .9]), torch.tensor([.1, .4])
    torch.testing.assert_close(combine_scores('logits*dice', cls_prob, dice=dice),
                               cls_prob * dice[:, None])
    torch.testing.assert_close(combine_scores('sqrt(iou*dice)', cls_prob, iou=iou, dice=dice),
                               torch.tensor([[.2], [.6]]))
    with pytest.raises(ValueError, match=r"\['dice'\]"):
        combine_scores('dice', cls_prob, iou=iou)

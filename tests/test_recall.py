"""The class-agnostic recall evaluator: exact against pycocotools, protocols, bad input."""
import contextlib
import copy
import io
import json
import math

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from owp.evaluation import OWPRecallMetric, evaluate_proposals, validate_results

SPLIT = dict(base=['b1', 'b2'], novel=['n1', 'n2', 'n3'])


def make_data(seed, n_img=120, max_gt=9, max_det=140):
    """Random COCO data with crowds, empty images, tied scores, tiny and huge boxes."""
    rng = np.random.default_rng(seed)
    cats = [dict(id=i, name=n) for i, n in zip((3, 7, 11, 12, 20), ('b1', 'n1', 'b2', 'n2', 'n3'))]
    images, anns, dets = [], [], []
    for i in range(1, n_img + 1):
        images.append(dict(id=i, width=800, height=600, file_name=f'{i}.jpg'))
        n_gt = 0 if i % 9 == 0 else int(rng.integers(0, max_gt))
        for _ in range(n_gt):
            w, h = np.exp(rng.uniform(np.log(1), np.log(700), 2))
            x, y = rng.uniform(0, 400, 2)
            anns.append(dict(id=len(anns) + 1, image_id=i,
                             category_id=int(cats[rng.integers(5)]['id']),
                             bbox=[float(x), float(y), float(w), float(h)],
                             area=float(w * h * rng.uniform(0.4, 1.0)),
                             iscrowd=int(rng.random() < 0.12)))
        if i % 13 == 0:
            continue  # an image without proposals
        mine = [a for a in anns if a['image_id'] == i]
        for _ in range(int(rng.integers(0, max_det))):
            if mine and rng.random() < 0.6:
                b = np.array(mine[rng.integers(len(mine))]['bbox'])
                b = b * rng.uniform(0.85, 1.15, 4) + rng.normal(0, 1.5, 4)
                b[2:] = np.abs(b[2:]) + 0.05
            else:
                b = np.r_[rng.uniform(0, 600, 2), np.exp(rng.uniform(0, 6.5, 2))]
            dets.append(dict(image_id=i, category_id=int(rng.choice([3, 7, 999])),
                             bbox=[float(v) for v in b],
                             score=float(np.round(rng.random(), 1))))  # many ties
    return dict(images=images, annotations=anns, categories=cats), dets


def pycocotools_ar(coco, dets, cat_ids, max_dets):
    gt = copy.deepcopy(coco)
    gt['annotations'] = [a for a in gt['annotations'] if a['category_id'] in cat_ids]
    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO()
        c.dataset = gt
        c.createIndex()
        # pycocotools drops proposals whose category is not in the file: give all a valid one.
        d = c.loadRes([dict(x, category_id=gt['categories'][0]['id']) for x in dets])
        ev = COCOeval(c, d, 'bbox')
        ev.params.useCats = 0
        ev.params.maxDets = list(max_dets)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    k1, k2, k3 = max_dets
    return {f'AR@{k1}': ev.stats[6], f'AR@{k2}': ev.stats[7], f'AR@{k3}': ev.stats[8],
            f'ARs@{k3}': ev.stats[9], f'ARm@{k3}': ev.stats[10], f'ARl@{k3}': ev.stats[11]}


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('max_dets', [(1, 10, 100), (5, 30, 300)])
def test_remove_protocol_equals_pycocotools(seed, max_dets):
    coco, dets = make_data(seed)
    ours = evaluate_proposals(coco, dets, SPLIT, ('novel', 'base', 'all'), 'remove', max_dets)
    for subset, ids in (('novel', {7, 12, 20}), ('base', {3, 11}),
                        ('all', {3, 7, 11, 12, 20})):
        ref = pycocotools_ar(coco, dets, ids, max_dets)
        for k, v in ref.items():
            assert ours[f'{subset}/{k}'] == pytest.approx(v, abs=1e-6), (subset, k)


def test_keys_are_named_by_the_real_k():
    coco, dets = make_data(0, n_img=10)
    out = evaluate_proposals(coco, dets, SPLIT, ('novel', ), 'remove', (300, 7))
    assert set(out) == {'novel/AR@7', 'novel/AR@300', 'novel/ARs@300', 'novel/ARm@300',
                        'novel/ARl@300'}
    assert out['novel/AR@7'] <= out['novel/AR@300']


def _tiny():
    coco = dict(images=[dict(id=1, width=100, height=100)],
                annotations=[dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 10, 10],
                                  area=100, iscrowd=0),
                             dict(id=2, image_id=1, category_id=2, bbox=[50, 50, 10, 10],
                                  area=100, iscrowd=0)],
                categories=[dict(id=1, name='b1'), dict(id=2, name='n1')])
    dets = [dict(image_id=1, category_id=1, bbox=[0, 0, 10, 10], score=0.9),
            dict(image_id=1, category_id=1, bbox=[50, 50, 10, 10], score=0.8)]
    return coco, dets


def test_ignore_protocol_drops_base_matches_before_the_budget():
    coco, dets = _tiny()
    split = dict(base=['b1'], novel=['n1'])
    remove = evaluate_proposals(coco, dets, split, ('novel', ), 'remove', (1, 2))
    ignore = evaluate_proposals(coco, dets, split, ('novel', ), 'ignore', (1, 2))
    assert remove['novel/AR@1'] == 0.0  # the base box's proposal used the only slot
    assert ignore['novel/AR@1'] == 1.0  # dropped, the novel proposal fills the slot
    assert remove['novel/AR@2'] == ignore['novel/AR@2'] == 1.0


def test_ignore_protocol_keeps_proposals_that_miss_base_boxes():
    coco, dets = make_data(4, n_img=40)
    remove = evaluate_proposals(coco, dets, SPLIT, ('novel', ), 'remove', (10, 100))
    ignore = evaluate_proposals(coco, dets, SPLIT, ('novel', ), 'ignore', (10, 100))
    assert ignore['novel/AR@10'] >= remove['novel/AR@10'] - 1e-12


def test_category_id_is_ignored():
    coco, dets = make_data(5, n_img=30)
    a = evaluate_proposals(coco, dets, SPLIT, ('novel', ))
    b = evaluate_proposals(coco, [dict(d, category_id=-5) for d in dets], SPLIT, ('novel', ))
    assert a == b


def test_only_crowd_targets_give_minus_one():
    coco, dets = _tiny()
    for a in coco['annotations']:
        a['iscrowd'] = 1
    out = evaluate_proposals(coco, dets, dict(base=['b1'], novel=['n1']), ('novel', ))
    assert out['novel/AR@100'] == -1.0


@pytest.mark.parametrize('mutate, words', [
    (lambda d: d.clear(), 'empty results'),
    (lambda d: d[1].pop('score'), r"results\[1\]: missing 'score'"),
    (lambda d: d[0].update(image_id=77), r'results\[0\]: image_id 77'),
    (lambda d: d[1].update(bbox=[0, 0, math.nan, 3]), r'results\[1\]: bbox'),
    (lambda d: d[0].update(bbox=[0, 0, math.inf, 3]), r'results\[0\]: bbox'),
    (lambda d: d[1].update(bbox=[0, 0, 0, 3]), 'width or height <= 0'),
    (lambda d: d[0].update(bbox=[0, 0, 4, -3]), 'width or height <= 0'),
    (lambda d: d[0].update(score=math.nan), 'score'),
])
def test_bad_results_fail_naming_the_entry(mutate, words):
    coco, dets = _tiny()
    mutate(dets)
    with pytest.raises(ValueError, match=words):
        evaluate_proposals(coco, dets, dict(base=['b1'], novel=['n1']))


def test_split_naming_missing_classes_fails():
    coco, dets = _tiny()
    with pytest.raises(ValueError, match="unknown novel class 'n2'.*closest: \\['n1'\\]"):
        evaluate_proposals(coco, dets, dict(base=['b1'], novel=['n2']))


def test_metric_matches_library_and_reports_base_ap(tmp_path):
    import torch
    from mmengine.structures import InstanceData
    coco, dets = make_data(6, n_img=25)
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(coco))
    metric = OWPRecallMetric(ann_file=str(ann), split=SPLIT, subsets=('novel', 'base'),
                             max_dets=(10, 100), base_ap=True)
    metric.dataset_meta = dict(classes=('b1', 'b2'))
    samples = []
    for img in coco['images']:
        mine = [d for d in dets if d['image_id'] == img['id']]
        b = torch.tensor([d['bbox'] for d in mine], dtype=torch.float64).reshape(-1, 4)
        samples.append(dict(img_id=img['id'], pred_instances=InstanceData(
            bboxes=torch.cat([b[:, :2], b[:, :2] + b[:, 2:]], 1),
            scores=torch.tensor([d['score'] for d in mine], dtype=torch.float64),
            labels=torch.tensor([i % 2 for i in range(len(mine))]))))
    metric.process({}, samples)
    out = metric.compute_metrics(metric.results)
    ref = evaluate_proposals(coco, dets, SPLIT, ('novel', 'base'), 'remove', (10, 100))
    for k, v in ref.items():
        assert out[k] == pytest.approx(v, abs=1e-9)
    assert 0.0 <= out['base/AP'] <= 1.0 and 'base/AP50' in out


def _samples(coco, dets, image_ids):
    import torch
    from mmengine.structures import InstanceData
    out = []
    for img_id in image_ids:
        mine = [d for d in dets if d['image_id'] == img_id]
        b = torch.tensor([d['bbox'] for d in mine], dtype=torch.float64).reshape(-1, 4)
        out.append(dict(img_id=img_id, pred_instances=InstanceData(
            bboxes=torch.cat([b[:, :2], b[:, :2] + b[:, 2:]], 1),
            scores=torch.tensor([d['score'] for d in mine], dtype=torch.float64),
            labels=torch.zeros(len(mine), dtype=torch.long))))
    return out


def test_metric_evaluates_only_the_images_the_loop_saw(tmp_path):
    coco, dets = make_data(7, n_img=20)
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(coco))
    seen = [im['id'] for im in coco['images']][::2]
    metric = OWPRecallMetric(ann_file=str(ann), split=SPLIT, max_dets=(10, 100))
    metric.process({}, _samples(coco, dets, seen))
    out = metric.compute_metrics(metric.results)
    sub = dict(coco, images=[im for im in coco['images'] if im['id'] in seen],
               annotations=[a for a in coco['annotations'] if a['image_id'] in seen])
    ref = evaluate_proposals(sub, [d for d in dets if d['image_id'] in seen], SPLIT)
    assert out == pytest.approx(ref, abs=1e-12)
    full = evaluate_proposals(coco, [d for d in dets if d['image_id'] in seen], SPLIT)
    assert full['novel/AR@100'] < ref['novel/AR@100']  # the unseen images' boxes


def test_metric_with_no_proposals_at_all_reports_zero_recall(tmp_path):
    coco, dets = make_data(8, n_img=5)
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(coco))
    metric = OWPRecallMetric(ann_file=str(ann), split=SPLIT, max_dets=(10, 100))
    metric.process({}, _samples(coco, [], [im['id'] for im in coco['images']]))
    assert metric.compute_metrics(metric.results)['novel/AR@100'] == 0.0


def test_metric_rejects_bad_options():
    with pytest.raises(ValueError, match='protocol'):
        OWPRecallMetric(ann_file='x.json', split='shapes', protocol='oln')
    with pytest.raises(ValueError, match='subsets'):
        OWPRecallMetric(ann_file='x.json', split='shapes', subsets=('unseen', ))


def test_validate_results_accepts_good_input():
    coco, dets = _tiny()
    validate_results(dets, [1])


@pytest.mark.parametrize('seed', range(4))
def test_component_matching_equals_sequential_greedy(seed):
    """The per-component solver gives the sequential greedy's ranks, conflicts included."""
    from owp.evaluation.functional.recall import (
    IOU_THRS,
    box_iou_xywh,
    component_match_ranks,
    greedy_match_ranks,
    )
    rng = np.random.default_rng(seed)
    matched = 0
    for _ in range(60):
        n, d, g = (int(v) for v in (rng.integers(1, 6), rng.integers(1, 40), rng.integers(1, 8)))
        gb = np.concatenate([rng.uniform(0, 50, (n, g, 2)),
                             np.exp(rng.uniform(1, 4, (n, g, 2)))], -1)
        # near-duplicate boxes, so that proposals overlap several of them (conflicts)
        src = rng.integers(0, g, (n, g))
        dup = gb[np.arange(n)[:, None], src] * rng.uniform(0.9, 1.1, (n, g, 4))
        gb = np.where((rng.random((n, g)) < 0.5)[..., None], dup, gb)
        db = gb[np.arange(n)[:, None], rng.integers(0, g, (n, d))] * \
            rng.uniform(0.8, 1.25, (n, d, 4))
        ious = np.round(box_iou_xywh(db, gb), 2)  # tied IoUs
        valid = rng.random((n, d)) < 0.9
        target = rng.random((n, 4, g)) < 0.7
        ref = greedy_match_ranks(ious, valid, target, IOU_THRS)
        got = component_match_ranks(ious, valid, target, IOU_THRS)
        np.testing.assert_array_equal(got, ref)
        matched += int((ref != np.iinfo(np.int64).max).sum())
    assert matched > 100


def _flat(coco, dets):
    from owp.evaluation.functional.proposals import _GroundTruth, results_to_arrays
    gt = _GroundTruth(coco)
    return gt, results_to_arrays(dets, gt.image_ids)


def test_small_batches_and_interleaved_input_give_the_same_matching():
    """Batching (many tiny batches), threads and input order across images change nothing."""
    from owp.evaluation.functional.recall import (
    IOU_THRS,
    UNMATCHED,
    match_ranks_flat,
    positions_in_runs,
    rank_by_image,
    )
    coco, dets = make_data(7, n_img=60)
    gt, (img, boxes, scores) = _flat(coco, dets)
    target = (~gt.crowd)[:, None]
    order = rank_by_image(img, scores)
    args = (len(gt.image_ids), gt.img, gt.boxes, target)
    big, big_det = match_ranks_flat(*args, img[order], boxes[order], IOU_THRS, with_det_gt=True,
                                    threads=1)
    for budget, threads in ((50, 1), (50, 3), (2 ** 23, 2)):  # many batches, threads
        small, small_det = match_ranks_flat(*args, img[order], boxes[order], IOU_THRS,
                                            budget=budget, with_det_gt=True, threads=threads)
        np.testing.assert_array_equal(big, small)
        np.testing.assert_array_equal(big_det, small_det)
    # proposals interleaved across images (only their order within an image counts)
    # round robin: every image's first proposal, then every image's second, ...
    inter = np.lexsort((img[order], positions_in_runs(img[order])))
    mixed, mixed_det = match_ranks_flat(*args, img[order][inter], boxes[order][inter], IOU_THRS,
                                        with_det_gt=True)
    np.testing.assert_array_equal(mixed, big)
    np.testing.assert_array_equal(mixed_det[np.argsort(inter)], big_det)
    # det_gt is the inverse of gt_rank
    assert (big != UNMATCHED).sum() == (big_det >= 0).sum() > 0
    d, a, t = np.nonzero(big_det >= 0)
    g = big_det[d, a, t]
    assert (gt.img[g] == img[order][d]).all()


def test_string_image_ids_are_supported():
    coco, dets = make_data(8, n_img=20)
    ref = evaluate_proposals(coco, dets, SPLIT, ('novel', ))
    for im in coco['images']:
        im['id'] = f"img{im['id']}"
    for a in coco['annotations']:
        a['image_id'] = f"img{a['image_id']}"
    dets = [dict(d, image_id=f"img{d['image_id']}") for d in dets]
    assert evaluate_proposals(coco, dets, SPLIT, ('novel', )) == ref


def test_bad_annotation_and_short_bbox_are_named():
    coco, dets = _tiny()
    dets[1]['bbox'] = [0, 0, 3]
    with pytest.raises(ValueError, match=r'results\[1\]: bbox \[0, 0, 3\] must be 4'):
        evaluate_proposals(coco, dets, dict(base=['b1'], novel=['n1']))
    coco, dets = _tiny()
    coco['annotations'][1]['image_id'] = 9
    with pytest.raises(ValueError, match=r'annotations\[1\] \(id 2\): image_id 9'):
        evaluate_proposals(coco, dets, dict(base=['b1'], novel=['n1']))


@pytest.mark.parametrize('mutate, words', [
    (lambda d: d[1].update(score='0.5'), r"results\[1\]: score '0.5'"),
    (lambda d: d[0].update(image_id=1.5), r'results\[0\]: image_id 1.5'),
    (lambda d: d[1].update(bbox=None), r'results\[1\]: bbox None'),
    (lambda d: d.append('not a dict'), r'results\[2\]: expected a dict'),
    (lambda d: d[1].update(bbox='1234'), r"results\[1\]: bbox '1234'"),
    (lambda d: d[0].update(bbox=['10', 10, 20, 20]), r"results\[0\]: bbox \['10'"),
    (lambda d: d[1].update(image_id=[1]), r'results\[1\]: image_id \[1\]'),
])
def test_bad_types_fail_naming_the_entry(mutate, words):
    coco, dets = _tiny()
    mutate(dets)
    with pytest.raises(ValueError, match=words):
        evaluate_proposals(coco, dets, dict(base=['b1'], novel=['n1']))


def test_per_image_api_equals_flat_api():
    from owp.evaluation import class_agnostic_recall
    coco, dets = make_data(9, n_img=30)
    ids = [im['id'] for im in coco['images']]
    novel = {7, 12, 20}
    anns = sorted((a for a in coco['annotations'] if a['category_id'] in novel),
                  key=lambda a: (a['image_id'], a['category_id']))
    per = {i: [a for a in anns if a['image_id'] == i] for i in ids}
    mine = {i: [d for d in dets if d['image_id'] == i] for i in ids}
    out = class_agnostic_recall(
        [np.array([a['bbox'] for a in per[i]]).reshape(-1, 4) for i in ids],
        [[a['area'] for a in per[i]] for i in ids],
        [[bool(a['iscrowd']) for a in per[i]] for i in ids],
        [np.array([d['bbox'] for d in mine[i]]).reshape(-1, 4) for i in ids],
        [[d['score'] for d in mine[i]] for i in ids], max_dets=(10, 100))
    ref = evaluate_proposals(coco, dets, SPLIT, ('novel', ), 'remove', (10, 100))
    for k, v in ref.items():
        assert out[k.split('/')[1]] == pytest.approx(v, abs=1e-12)
    assert out['num_targets'] > 0


@pytest.mark.parametrize('block', [1, 5, 64, 1 << 60])
def test_blocked_iou_equals_pycocotools_iou(monkeypatch, block):
    """Any blocking gives pycocotools' IoU bit for bit, batched or not."""
    from pycocotools import mask as mask_utils

    from owp.evaluation.functional import iou as iou_module
    rng = np.random.default_rng(3)

    def boxes(*shape):
        xy = rng.uniform(0, 100, shape + (2, ))
        wh = rng.uniform(0, 60, shape + (2, )).round(1)
        wh[..., 0][wh[..., 0] < 5] = 0  # empty boxes: union can be 0
        return np.concatenate([xy, wh], -1)

    monkeypatch.setattr(iou_module, 'IOU_BLOCK', block)
    d, g = boxes(3, 40), boxes(3, 6)
    ious = iou_module.box_iou_xywh(d, g)
    assert ious.shape == (3, 40, 6)
    for i in range(3):
        ref = np.asarray(mask_utils.iou(d[i].tolist(), g[i].tolist(), [0] * 6))
        np.testing.assert_array_equal(ious[i], ref)
        np.testing.assert_array_equal(iou_module.box_iou_xywh(d[i], g[i]), ref)  # unbatched
    # broadcast leading dims
    np.testing.assert_array_equal(iou_module.box_iou_xywh(d[:, None], g[None]),
                                  np.stack([[iou_module.box_iou_xywh(a, b) for b in g] for a in d]))


@pytest.mark.parametrize('high', [1, 300, 70_000, 2 ** 40])
def test_stable_argsort_indices_equals_numpy(high):
    from owp.evaluation.functional.recall import stable_argsort_indices
    keys = np.random.default_rng(high % 97).integers(0, high, 5000)
    np.testing.assert_array_equal(stable_argsort_indices(keys),
                                  np.argsort(keys, kind='stable'))
    assert stable_argsort_indices(np.zeros(0, np.int64)).size == 0
    neg = keys - high // 2
    np.testing.assert_array_equal(stable_argsort_indices(neg), np.argsort(neg, kind='stable'))


def test_duplicate_image_ids_in_the_annotation_file_fail():
    coco, dets = _tiny()
    coco['images'].append(dict(coco['images'][0]))
    with pytest.raises(ValueError,
                       match=r'images\[0\] and images\[1\]: image id 1 appears twice'):
        evaluate_proposals(coco, dets, dict(base=['b1'], novel=['n1']))


def test_numpy_scalars_are_numbers():
    coco, dets = _tiny()
    ref = evaluate_proposals(coco, dets, dict(base=['b1'], novel=['n1']))
    dets[0]['score'] = np.float32(dets[0]['score'])
    dets[1]['bbox'] = [np.float32(v) for v in dets[1]['bbox']]
    assert evaluate_proposals(coco, dets, dict(base=['b1'], novel=['n1'])) == ref


def test_ignore_protocol_without_annotations():
    coco, dets = _tiny()
    coco['annotations'] = []
    for protocol in ('remove', 'ignore'):
        out = evaluate_proposals(coco, dets, dict(base=['b1'], novel=['n1']), ('novel', ),
                                 protocol)
        assert out['novel/AR@100'] == -1.0


def test_base_ap_without_iscrowd_lvis_style():
    from owp.evaluation.functional.proposals import base_class_ap
    coco, dets = _tiny()
    for a in coco['annotations']:
        a.pop('iscrowd')
    dets = [dict(image_id=1, category_id=1, bbox=a['bbox'], score=0.9)
            for a in coco['annotations'] if a['category_id'] == 1]
    assert base_class_ap(coco, dets, [1])['base/AP'] == pytest.approx(1.0)


def _lvis_file():
    cats = [dict(id=1, name='a', frequency='f'), dict(id=2, name='b', frequency='r')]
    images = [dict(id=i, width=100, height=100, neg_category_ids=neg,
                   not_exhaustive_category_ids=nel)
              for i, neg, nel in ((1, [], []), (2, [1], []), (3, [], []), (4, [], [1]))]
    anns = [dict(id=1, image_id=1, category_id=1, bbox=[10, 10, 30, 30], area=900),
            dict(id=2, image_id=3, category_id=2, bbox=[50, 50, 20, 20], area=400),
            dict(id=3, image_id=4, category_id=1, bbox=[60, 60, 30, 30], area=900)]
    return dict(images=images, annotations=anns, categories=cats)


def test_lvis_federated_ap_counts_only_annotated_or_negative_images():
    from owp.evaluation import lvis_federated_ap
    from owp.evaluation.functional.proposals import base_class_ap
    lvis = _lvis_file()
    box = [10, 10, 30, 30]
    res = [dict(image_id=1, category_id=1, bbox=box, score=0.9),    # TP
           dict(image_id=2, category_id=1, bbox=box, score=0.95),   # FP: 'a' is a negative
           dict(image_id=3, category_id=1, bbox=box, score=0.99),   # not judged: 'a' unknown
           dict(image_id=4, category_id=1, bbox=[60, 60, 30, 30], score=0.5),  # TP
           dict(image_id=4, category_id=1, bbox=box, score=0.97)]   # not exhaustive: ignored
    ap = lvis_federated_ap(lvis, res, [1])
    # ranked: 0.95 FP, 0.9 TP, 0.5 TP -> interpolated precision 2/3 at every recall
    assert ap['base/AP'] == pytest.approx(2 / 3, abs=1e-3)
    assert ap['base/APf'] == ap['base/AP'] and ap['base/APr'] == -1  # 'b' is not evaluated
    coco_style = base_class_ap(lvis, res, [1])['base/AP']  # every detection counts
    assert coco_style < 0.5
    with pytest.raises(AttributeError):
        np.float  # the alias lvis needs is gone again
    assert lvis_federated_ap(lvis, [], [1])['base/AP'] == 0.0


def test_metric_lvis_base_ap(tmp_path):
    lvis = _lvis_file()
    ann = tmp_path / 'lvis.json'
    ann.write_text(json.dumps(lvis))
    metric = OWPRecallMetric(ann_file=str(ann), split=dict(base=['a'], novel=['b']),
                             max_dets=(300, ), base_ap='lvis')
    metric.dataset_meta = dict(classes=('a', ))
    dets = [dict(image_id=1, bbox=[10, 10, 30, 30], score=0.9)]
    metric.process({}, _samples(lvis, dets, [1, 2, 3, 4]))
    out = metric.compute_metrics(metric.results)
    # one of the two 'a' boxes found, precision 1: 101-point AP = 51 / 101
    assert out['base/AP'] == pytest.approx(51 / 101) and 'base/APr' in out
    with pytest.raises(ValueError, match="base_ap must be"):
        OWPRecallMetric(ann_file='x.json', split='shapes', base_ap='federated')


# ---------------------------------------------------------------------------
# OLN's cross-category protocol ('ignore'): an independent reference
# ---------------------------------------------------------------------------

class XclassReference(COCOeval):
    """OLN's ``COCOEvalXclassWrapper`` written from its description, one loop per rule.

    Boxes carry ``other`` (OLN's ``ignored_split``): classes not evaluated.
    The keyword flags switch one rule each to a plausible misreading, so that
    tests can show that their cases depend on every rule:

    * ``cut_first``: cut at the largest k before removing (else after);
    * ``targets_first``: a proposal falls to an ignored box only when no
      target reaches the threshold (else every box competes alike);
    * ``keep_removed_matches``: a removed proposal keeps its matches at the
      other thresholds, blocking its boxes (else the rest is re-matched
      without it);
    * ``crowd_reuse``: crowd boxes use the crowd IoU and can be taken many
      times (else they are plain single-use boxes);
    * ``remove_at_first_thr``: removal is decided at IoU 0.5 for every
      threshold (else per threshold).
    """

    def __init__(self, *args, cut_first=True, targets_first=True, keep_removed_matches=True,
                 crowd_reuse=True, remove_at_first_thr=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.rules = dict(cut_first=cut_first, targets_first=targets_first,
                          keep_removed_matches=keep_removed_matches, crowd_reuse=crowd_reuse,
                          remove_at_first_thr=remove_at_first_thr)

    def computeIoU(self, imgId, catId):  # noqa: N802 (pycocotools' name)
        return []  # evaluateImg computes its own

    def _match(self, ious, ignored, crowd, dets, thr):
        """Greedy matching of proposals ``dets`` (indices, rank order) at ``thr``."""
        taken = [False] * ious.shape[1]
        match = {}
        for d in dets:
            tiers = ([[g for g in range(len(taken)) if not ignored[g]],
                      [g for g in range(len(taken)) if ignored[g]]]
                     if self.rules['targets_first'] else [list(range(len(taken)))])
            for tier in tiers:
                best, m = min(thr, 1 - 1e-10), None
                for g in tier:  # boxes in COCO order: ties go to the later box
                    if taken[g] and not (crowd[g] and self.rules['crowd_reuse']):
                        continue
                    if ious[d, g] >= best:
                        best, m = ious[d, g], g
                if m is not None:
                    match[d] = m
                    taken[m] = True
                    break
        return match

    def evaluateImg(self, imgId, catId, aRng, maxDet):  # noqa: N802
        from pycocotools import mask as mask_utils
        p = self.params
        gts = [g for c in p.catIds for g in self._gts[imgId, c]]
        dts = [d for c in p.catIds for d in self._dts[imgId, c]]
        if not gts and not dts:
            return None
        crowd = [bool(g['iscrowd']) for g in gts]
        other = [bool(g['other']) for g in gts]
        ignored = [c or o or not (aRng[0] <= g['area'] <= aRng[1])
                   for g, c, o in zip(gts, crowd, other)]
        ranked = sorted(range(len(dts)), key=lambda i: -dts[i]['score'])  # stable
        kmax = p.maxDets[-1]
        if self.rules['cut_first']:
            ranked = ranked[:kmax]
        iscrowd = crowd if self.rules['crowd_reuse'] else [0] * len(gts)
        ious = np.zeros((len(dts), len(gts)))
        if dts and gts:
            ious = np.asarray(mask_utils.iou([d['bbox'] for d in dts], [g['bbox'] for g in gts],
                                             iscrowd))
        order = list(range(len(ranked)))  # positions in `ranked`
        sub = ious[ranked]
        matches = [self._match(sub, ignored, crowd, order, t) for t in p.iouThrs]

        def removed(ti):
            m = matches[0 if self.rules['remove_at_first_thr'] else ti]
            return {d for d, g in m.items() if other[g]}

        kept = [[d for d in order if d not in removed(ti)] for ti in range(len(p.iouThrs))]
        if not self.rules['keep_removed_matches']:
            matches = [self._match(sub, ignored, crowd, kept[ti], t)
                       for ti, t in enumerate(p.iouThrs)]
        if not self.rules['cut_first']:
            kept = [k[:kmax] for k in kept]
        gt_ids = [g['id'] for g in gts]
        # one column per kept proposal, per threshold (pycocotools' layout; recall
        # only counts matches to targets among the first k columns)
        width = max(len(k) for k in kept)
        dtm = np.zeros((len(p.iouThrs), width))
        dt_ig = np.ones((len(p.iouThrs), width), bool)
        for ti, k in enumerate(kept):
            for j, d in enumerate(k):
                g = matches[ti].get(d)
                if g is not None:
                    dtm[ti, j], dt_ig[ti, j] = gt_ids[g], ignored[g]
        return {'image_id': imgId, 'category_id': catId, 'aRng': aRng, 'maxDet': maxDet,
                'dtIds': [dts[ranked[d]]['id'] for d in kept[0]] + [0] * (width - len(kept[0])),
                'gtIds': gt_ids, 'dtMatches': dtm, 'gtMatches': np.zeros((len(p.iouThrs),
                                                                         len(gts))),
                'dtScores': [1.0] * width, 'gtIgnore': np.array(ignored, int),
                'dtIgnore': dt_ig}


def xclass_reference_ar(coco, dets, eval_cat_ids, max_dets, **rules):
    """AR@k (and ARs/ARm/ARl at the largest k) of :class:`XclassReference`."""
    gt = copy.deepcopy(coco)
    for a in gt['annotations']:
        a['other'] = a['category_id'] not in eval_cat_ids
    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO()
        c.dataset = gt
        c.createIndex()
        d = c.loadRes([dict(x, category_id=gt['categories'][0]['id']) for x in dets])
        ev = XclassReference(c, d, 'bbox', **rules)
        ev.params.useCats = 0
        ev.params.maxDets = sorted(max_dets)
        ev.evaluate()
        ev.accumulate()
    rec = ev.eval['recall']  # (T, K=1, A, M)

    def mean(r):
        return float(r[r > -1].mean()) if (r > -1).any() else -1.0

    ks = sorted(max_dets)
    out = {f'AR@{k}': mean(rec[:, 0, 0, m]) for m, k in enumerate(ks)}
    out.update({f'{n}@{ks[-1]}': mean(rec[:, 0, a, -1]) for a, n in ((1, 'ARs'), (2, 'ARm'),
                                                                     (3, 'ARl'))})
    return out


def make_xclass_data(seed, n_img=60):
    """Adversarial data for the cross-category protocol.

    Novel and base boxes overlap heavily in clusters (a proposal reaches both),
    base crowd regions cover clusters (crowd IoU >= 0.5 where plain IoU is not),
    proposals outnumber the largest k (the cut matters), scores tie, some images
    have no boxes or no proposals, and box sizes span all three area ranges.
    """
    rng = np.random.default_rng(seed)
    cats = [dict(id=i, name=n) for i, n in zip((3, 7, 11, 12, 20), ('b1', 'n1', 'b2', 'n2', 'n3'))]
    base, novel = (3, 11), (7, 12, 20)
    images, anns, dets = [], [], []

    def add(i, cat, box, crowd=0):
        anns.append(dict(id=len(anns) + 1, image_id=i, category_id=int(cat),
                         bbox=[float(v) for v in box], area=float(box[2] * box[3]),
                         iscrowd=crowd))

    for i in range(1, n_img + 1):
        images.append(dict(id=i, width=640, height=480))
        boxes = []
        for _ in range(0 if i % 11 == 0 else int(rng.integers(1, 4))):  # clusters
            wh = np.exp(rng.uniform(np.log(8), np.log(200), 2))
            b = np.r_[rng.uniform(0, 400, 2), wh]
            add(i, rng.choice(novel), b)
            shifted = b + np.r_[rng.uniform(-0.25, 0.25, 2) * wh, wh * rng.uniform(-.2, .2, 2)]
            add(i, rng.choice(base), shifted)  # a base box overlapping the novel one
            boxes += [b, shifted]
            if rng.random() < 0.3:
                add(i, rng.choice(novel), shifted * rng.uniform(0.95, 1.05, 4))  # a near twin
                boxes.append(boxes[-1] * rng.uniform(0.95, 1.05, 4))
            if rng.random() < 0.25:  # a crowd region around the cluster
                add(i, rng.choice(base if rng.random() < 0.7 else novel),
                    np.r_[b[:2] - wh * 0.5, wh * 2.2], crowd=1)
        if i % 7 == 0:
            continue  # no proposals
        for _ in range(int(rng.integers(5, 45))):
            if boxes and rng.random() < 0.85:
                a, c = boxes[rng.integers(len(boxes))], boxes[rng.integers(len(boxes))]
                w = rng.uniform(0, 1) if rng.random() < 0.4 else 0.0
                b = (1 - w) * a + w * c  # between two boxes: reaches both
                b = b * rng.uniform(0.9, 1.1, 4) + rng.normal(0, 1, 4)
                b[2:] = np.abs(b[2:]) + 0.5
            else:
                b = np.r_[rng.uniform(0, 500, 2), np.exp(rng.uniform(1, 5.5, 2))]
            dets.append(dict(image_id=i, category_id=3, bbox=[float(v) for v in b],
                             score=float(np.round(rng.random(), 1))))
    return dict(images=images, annotations=anns, categories=cats), dets


XCLASS_RULES = ('cut_first', 'targets_first', 'keep_removed_matches', 'crowd_reuse',
                'remove_at_first_thr')


@pytest.fixture(scope='module')
def xclass_cases():
    """(coco, dets, max_dets, reference) for a few seeds and k lists."""
    cases = []
    for seed, ks in ((0, (3, 10, 30)), (1, (1, 5, 20)), (2, (10, 20, 100))):
        coco, dets = make_xclass_data(seed)
        cases.append((coco, dets, ks, xclass_reference_ar(coco, dets, {7, 12, 20}, ks)))
    return cases


def test_ignore_protocol_equals_the_xclass_reference(xclass_cases):
    for coco, dets, ks, ref in xclass_cases:
        ours = evaluate_proposals(coco, dets, SPLIT, ('novel', ), 'ignore', ks)
        for k, v in ref.items():
            assert ours[f'novel/{k}'] == pytest.approx(v, abs=1e-9), (ks, k)


@pytest.mark.parametrize('rule', XCLASS_RULES)
def test_every_xclass_rule_changes_the_answer(xclass_cases, rule):
    """The cases above depend on each rule: reading it otherwise gives other numbers."""
    differs = 0
    for coco, dets, ks, ref in xclass_cases:
        other = xclass_reference_ar(coco, dets, {7, 12, 20}, ks, **{rule: False})
        differs += sum(abs(other[k] - ref[k]) > 1e-9 for k in ref)
    assert differs > 0


def test_ignore_protocol_differs_from_the_other_protocols(xclass_cases):
    for protocol in ('remove', 'prefilter'):
        differs = 0
        for coco, dets, ks, ref in xclass_cases:
            out = evaluate_proposals(coco, dets, SPLIT, ('novel', ), protocol, ks)
            differs += sum(abs(out[f'novel/{k}'] - v) > 1e-9 for k, v in ref.items())
        assert differs > 0, protocol


def test_ignore_protocol_depends_on_the_largest_k():
    """OLN cuts at the largest k before removing: AR@k moves with the k list."""
    coco, dets = make_xclass_data(1)
    short = evaluate_proposals(coco, dets, SPLIT, ('novel', ), 'ignore', (3, 10))
    long = evaluate_proposals(coco, dets, SPLIT, ('novel', ), 'ignore', (3, 10, 30))
    # removals among the first 10 leave fewer than 10 when the cut is at 10
    assert short['novel/AR@10'] < long['novel/AR@10']
    pre = [evaluate_proposals(coco, dets, SPLIT, ('novel', ), 'prefilter', ks)['novel/AR@10']
           for ks in ((3, 10), (3, 10, 30))]
    assert pre[0] == pre[1]


def test_ignore_protocol_on_base_and_all_subsets(xclass_cases):
    """'ignore' on base is OLN's wrapper with eval_class = base; on 'all' it is 'remove'."""
    coco, dets, ks, _ = xclass_cases[0]
    ours = evaluate_proposals(coco, dets, SPLIT, ('base', 'all'), 'ignore', ks)
    ref = xclass_reference_ar(coco, dets, {3, 11}, ks)
    for k, v in ref.items():
        assert ours[f'base/{k}'] == pytest.approx(v, abs=1e-9)
    remove = evaluate_proposals(coco, dets, SPLIT, ('all', ), 'remove', ks)
    assert all(ours[k] == remove[k] for k in remove)


def _shared_data():
    """The real-data fixtures folder (``$OWP_SHARED_DATA``, else ``../shared/data``), or None."""
    import os
    import os.path as osp
    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for path in (os.environ.get('OWP_SHARED_DATA'), osp.join(repo, '..', 'shared', 'data'),
                 osp.join(repo, '..', '..', 'shared', 'data')):
        if path and osp.isdir(osp.join(path, 'voc2012-dets')):
            return path
    return None


@pytest.mark.skipif(_shared_data() is None,
                    reason='real VOC detections absent (../shared/data/voc2012-dets; set '
                           'OWP_SHARED_DATA to the data folder)')
@pytest.mark.parametrize('max_dets', [(1, 10, 100), (1, 3, 5)])
def test_protocols_on_real_voc_detections(max_dets):
    """452 real detections on 100 PASCAL VOC images, 10 classes base, 10 novel."""
    import os.path as osp
    root = osp.join(_shared_data(), 'voc2012-dets')
    with open(osp.join(root, 'instances.json')) as f:
        coco = json.load(f)
    with open(osp.join(root, 'results.json')) as f:
        dets = json.load(f)
    names = [c['name'] for c in coco['categories']]
    split = dict(base=names[:10], novel=names[10:])
    ids = {s: {c['id'] for c in coco['categories'] if c['name'] in split[s]}
           for s in ('base', 'novel')}
    remove = evaluate_proposals(coco, dets, split, ('novel', 'base'), 'remove', max_dets)
    ignore = evaluate_proposals(coco, dets, split, ('novel', 'base'), 'ignore', max_dets)
    for subset in ('novel', 'base'):
        for k, v in pycocotools_ar(coco, dets, ids[subset], max_dets).items():
            assert remove[f'{subset}/{k}'] == pytest.approx(v, abs=1e-9), (subset, k)
        for k, v in xclass_reference_ar(coco, dets, ids[subset], max_dets).items():
            assert ignore[f'{subset}/{k}'] == pytest.approx(v, abs=1e-9), (subset, k)
    # the detector's proposals on base objects use up novel budget under 'remove'
    assert ignore['novel/AR@1'] > remove['novel/AR@1']


def test_oln_auc():
    from owp.evaluation.functional.recall import AUC_MAX_DETS, oln_auc
    # OLN's tools/compute_auc.py: its published AR list (AR@1 = 0) gives AUC 24.8
    published = dict(zip(AUC_MAX_DETS, np.array([0.0, 18.0, 26.5, 29.6, 33.4, 39.0, 41.5,
                                                  45.0]) / 100))
    assert round(100 * oln_auc(published), 1) == 24.8
    x = np.log(np.array(AUC_MAX_DETS, float)) / np.log(1000)
    y = np.array([published[k] for k in AUC_MAX_DETS])
    assert oln_auc(published) == pytest.approx(np.trapezoid(y, x), abs=1e-15)
    measured = {**published, 1: 0.05}
    # AR@1 weighs on the first segment (x from 0 to 1/3) only
    assert oln_auc(measured) == pytest.approx(oln_auc(published) + 0.05 / 3 / 2, abs=1e-15)
    assert oln_auc(measured, ar1_zero=True) == oln_auc(published)
    assert oln_auc({**measured, 300: -1.0}) == -1.0
    assert oln_auc({k: 1.0 for k in AUC_MAX_DETS}) == pytest.approx(1.0)


def test_auc_is_reported_when_the_largest_k_reaches_1000():
    from owp.evaluation.functional.proposals import OLN_MAX_DETS
    from owp.evaluation.functional.recall import oln_auc
    coco, dets = make_data(3, n_img=20)
    with pytest.warns(UserWarning, match=r'max_dets \[.*1500\] exceed the most proposals'):
        out = evaluate_proposals(coco, dets, SPLIT, ('novel', ), 'ignore', OLN_MAX_DETS)
    assert [k for k in out if k.startswith('novel/AR@')] == [
        f'novel/AR@{k}' for k in OLN_MAX_DETS]  # keyed by the real k, no AR@1 added
    every = evaluate_proposals(coco, dets, SPLIT, ('novel', ), 'ignore',
                               (1, ) + OLN_MAX_DETS)
    for k in OLN_MAX_DETS:  # adding k = 1 changes no AR@k
        assert every[f'novel/AR@{k}'] == out[f'novel/AR@{k}']
    ar = {k: every[f'novel/AR@{k}'] for k in (1, 10, 30, 50, 100, 300, 500, 1000)}
    assert out['novel/AUC'] == pytest.approx(oln_auc(ar), abs=1e-12)
    assert out['novel/AUC(AR@1=0)'] < out['novel/AUC']
    assert 'novel/AUC' not in evaluate_proposals(coco, dets, SPLIT, ('novel', ), 'ignore',
                                                 (10, 500))


def test_crowd_iou_equals_pycocotools():
    from pycocotools import mask as mask_utils

    from owp.evaluation.functional.recall import crowd_iou_xywh
    rng = np.random.default_rng(5)
    d = np.concatenate([rng.uniform(0, 100, (50, 2)), rng.uniform(0, 60, (50, 2)).round(1)], 1)
    d[::7, 2] = 0  # empty proposals
    g = np.concatenate([rng.uniform(0, 100, (6, 2)), rng.uniform(0, 90, (6, 2))], 1)
    ref = np.asarray(mask_utils.iou(d.tolist(), g.tolist(), [1] * 6))
    np.testing.assert_array_equal(crowd_iou_xywh(d, g), ref)
    assert (ref > 0).sum() > 20


def test_metric_reports_auc_and_warns_when_k_exceeds_the_proposals(tmp_path):
    from mmengine.logging import MMLogger
    coco, dets = make_xclass_data(2, n_img=15)
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(coco))
    metric = OWPRecallMetric(ann_file=str(ann), split=SPLIT, protocol='ignore',
                             max_dets=(10, 100, 1000))
    metric.process({}, _samples(coco, dets, [im['id'] for im in coco['images']]))
    logger = MMLogger.get_instance('test_auc_metric')
    seen = []
    logger.warning = seen.append  # the instance's own, this test only
    out = metric.compute_metrics(metric.results)
    ref = evaluate_proposals(coco, dets, SPLIT, ('novel', ), 'ignore', (10, 100, 1000))
    assert out['novel/AUC'] == pytest.approx(ref['novel/AUC'], abs=1e-12) and \
        0 < out['novel/AUC'] < 1
    assert any('exceed the most proposals' in str(m) for m in seen)

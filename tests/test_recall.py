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

    from owp.evaluation.functional import recall
    rng = np.random.default_rng(3)

    def boxes(*shape):
        xy = rng.uniform(0, 100, shape + (2, ))
        wh = rng.uniform(0, 60, shape + (2, )).round(1)
        wh[..., 0][wh[..., 0] < 5] = 0  # empty boxes: union can be 0
        return np.concatenate([xy, wh], -1)

    monkeypatch.setattr(recall, 'IOU_BLOCK', block)
    d, g = boxes(3, 40), boxes(3, 6)
    ious = recall.box_iou_xywh(d, g)
    assert ious.shape == (3, 40, 6)
    for i in range(3):
        ref = np.asarray(mask_utils.iou(d[i].tolist(), g[i].tolist(), [0] * 6))
        np.testing.assert_array_equal(ious[i], ref)
        np.testing.assert_array_equal(recall.box_iou_xywh(d[i], g[i]), ref)  # unbatched
    # broadcast leading dims
    np.testing.assert_array_equal(recall.box_iou_xywh(d[:, None], g[None]),
                                  np.stack([[recall.box_iou_xywh(a, b) for b in g] for a in d]))


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

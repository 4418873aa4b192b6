"""owp.analysis.ranking: the ranking diagnostics' pure functions and their evaluation."""
import math

import numpy as np
import pytest

from owp.analysis.ranking import (
    ground_truth_ious,
    hit_histograms,
    rank_candidates,
    spearman,
    top_k_breakdown,
)

SPLIT = dict(base=['a'], novel=['b'])


def coco():
    """Two images; image 1: base box A, novel box B; image 2: novel box C, a crowd box."""
    return dict(
        images=[dict(id=1, width=100, height=100), dict(id=2, width=100, height=100)],
        categories=[dict(id=1, name='a'), dict(id=2, name='b')],
        annotations=[
            dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 20, 20], area=400, iscrowd=0),
            dict(id=2, image_id=1, category_id=2, bbox=[50, 50, 20, 20], area=400, iscrowd=0),
            dict(id=3, image_id=2, category_id=2, bbox=[10, 10, 30, 30], area=900, iscrowd=0),
            dict(id=4, image_id=2, category_id=2, bbox=[60, 60, 30, 30], area=900, iscrowd=1),
        ])


def test_spearman():
    x = np.array([0.1, 0.4, 0.2, 0.9])
    assert spearman(x, x ** 3) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    # ties take their average rank: ranks (1, 2.5, 2.5, 4) vs (1, 2, 3, 4)
    r = np.array([1, 2.5, 2.5, 4])
    expect = np.corrcoef(r, [1, 2, 3, 4])[0, 1]
    assert spearman([0, 1, 1, 2], [1, 2, 3, 4]) == pytest.approx(expect)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match='3 and 2'):
        spearman([1, 2, 3], [1, 2])


def test_hit_histograms_split_by_best_iou():
    h = hit_histograms([0.05, 0.95, 0.55, 1.0, 0.15], [0.6, 0.5, 0.1, 0.9, 0.49], bins=2)
    assert h['edges'] == [0, 0.5, 1]
    assert h['hit'] == [1, 2]    # 0.05 (IoU 0.6); 0.95 (0.5), 1.0 (0.9)
    assert h['miss'] == [1, 1]   # 0.15 (0.49); 0.55 (0.1)


def test_top_k_breakdown_new_duplicate_miss():
    # boxes best first; two objects, the second novel
    ious = np.array([[0.8, 0.0],    # new (object 0)
                     [0.6, 0.0],    # duplicate of object 0
                     [0.1, 0.2],    # miss
                     [0.55, 0.7],   # new: takes the free object 1, not the found 0
                     [0.9, 0.9]])   # duplicate: both found
    got = top_k_breakdown(ious, k=5, novel=np.array([False, True]))
    assert got == dict(new=2, duplicate=2, miss=1, new_novel=1)
    assert top_k_breakdown(ious, k=2) == dict(new=1, duplicate=1, miss=0, new_novel=0)
    assert top_k_breakdown(np.zeros((3, 0)), k=10) == dict(new=0, duplicate=0, miss=3,
                                                           new_novel=0)


def test_ground_truth_ious_skip_crowd_and_mark_novel():
    boxes = {1: np.array([[0., 0, 20, 20], [50, 50, 70, 60]]), 2: np.array([[60., 60, 90, 90]])}
    g = ground_truth_ious(coco(), SPLIT, boxes)
    np.testing.assert_allclose(g[1]['ious'], [[1, 0], [0, 0.5]])
    assert g[1]['novel'].tolist() == [False, True]
    np.testing.assert_allclose(g[2]['ious'], [[0]])  # the crowd box is no one's target


def candidates(scores_good_first=True):
    """Image 1: a box on A, a box on B, two background boxes; image 2: a box on C."""
    s = [0.9, 0.8, 0.2, 0.1] if scores_good_first else [0.1, 0.2, 0.8, 0.9]
    return [dict(img_id=1, bboxes=np.array([[0., 0, 20, 20], [50, 50, 70, 70],
                                            [80, 0, 99, 10], [30, 80, 40, 99]]),
                 score=np.array(s), iou=np.array(s)),
            dict(img_id=2, bboxes=np.array([[10., 10, 40, 40]]), score=np.array([0.5]),
                 iou=np.array([0.5]))]


def test_rank_candidates_ar_correlation_and_oracle():
    good = rank_candidates(candidates(True), coco(), SPLIT, 'score', None, max_dets=(1, 10))
    bad = rank_candidates(candidates(False), coco(), SPLIT, 'score', None, max_dets=(1, 10))
    # at k=1 the good ranking finds image 1's base box and image 2's novel box; the bad
    # one puts background first in image 1; at k=10 every box is in: same recall
    assert good['ar']['base/AR@1'] == 1.0 and bad['ar']['base/AR@1'] == 0.0
    assert good['ar']['novel/AR@1'] == 0.5 and bad['ar']['novel/AR@1'] == 0.5
    assert good['ar']['novel/AR@10'] == bad['ar']['novel/AR@10'] == 1.0
    assert good['spearman_all'] > 0.5 > -0.5 > bad['spearman_all']
    # near an object (best IoU >= 0.3): image 1's two hits and image 2's box, all at IoU
    # 1: a constant IoU, no correlation to measure
    assert math.isnan(good['spearman_near'])
    # a half box on A (IoU 0.5) instead of a background box joins them; the background
    # box at 0.1 stays out
    half = candidates(True)
    half[0]['bboxes'][2] = [0., 0, 20, 10]
    got = rank_candidates(half, coco(), SPLIT, 'score', None, (1, 10))['spearman_near']
    assert got == pytest.approx(spearman([0.9, 0.8, 0.2, 0.5], [1, 1, 0.5, 1])) and got > 0
    assert good['top1'] == dict(new=1.0, duplicate=0.0, miss=0.0, new_novel=0.5)
    assert bad['top1'] == dict(new=0.5, duplicate=0.0, miss=0.5, new_novel=0.5)
    assert sum(good['histograms']['hit']) == 3 and sum(good['histograms']['miss']) == 2
    oracle = rank_candidates(candidates(False), coco(), SPLIT, 'oracle', None, (1, 10))
    assert oracle['ar'] == good['ar'] and oracle['spearman_all'] == pytest.approx(1.0)
    # NMS: a near-copy of the best box goes at 0.5, stays without NMS
    cands = candidates(True)
    cands[0]['bboxes'][2] = [1., 1, 21, 21]
    assert rank_candidates(cands, coco(), SPLIT, 'score', None, (10, ))['top10'][
        'duplicate'] == 0.5
    assert rank_candidates(cands, coco(), SPLIT, 'score', 0.5, (10, ))['kept_per_image'] == 2
    with pytest.raises(ValueError, match="needs \\['centerness'\\]"):
        rank_candidates(cands, coco(), SPLIT, 'sqrt(centerness*iou)')
    with pytest.raises(ValueError, match='scoring='):
        rank_candidates(cands, coco(), SPLIT, 'logits')


def test_rank_candidates_evaluates_only_the_images_given():
    one = rank_candidates(candidates(True)[:1], coco(), SPLIT, 'score', None, (10, ))
    assert one['ar']['novel/AR@10'] == 1.0  # image 2's novel box is not a miss

"""The evaluator's shortcuts give the reference answers: subsets measured in one
pass (evaluate_proposals' default novel + base) give exactly what each subset
gives alone with the other classes' boxes removed; the fast stable sort is
numpy's stable sort."""
import numpy as np
import pytest

from owp.datasets.splits import resolve_split
from owp.evaluation.functional.proposals import _GroundTruth, evaluate_proposals, results_to_arrays
from owp.evaluation.functional.recall import recall_from_arrays, stable_argsort_floats

SPLIT = dict(base=['b1', 'b2'], novel=['n1', 'n2'])


def _case(seed):
    """Boxes of base and novel classes that overlap each other (so a proposal
    links to boxes of both subsets), crowds, empty images, tied scores."""
    rng = np.random.default_rng(seed)
    images = [dict(id=i + 1) for i in range(30)]
    anns, dets = [], []
    for im in images[:-3]:  # the last images have neither boxes nor proposals
        n = int(rng.integers(0, 8))
        xy = rng.uniform(0, 200, (n, 2))
        wh = rng.uniform(8, 120, (n, 2))
        for j in range(n):
            for copy in range(1 + (rng.random() < 0.4)):  # a shifted twin of another class
                box = np.r_[xy[j] + copy * rng.uniform(0, 5, 2), wh[j]]
                anns.append(dict(id=len(anns) + 1, image_id=im['id'],
                                 category_id=int(rng.integers(1, 5)), bbox=box.tolist(),
                                 area=float(box[2] * box[3]), iscrowd=int(rng.random() < 0.1)))
        for _ in range(int(rng.integers(0, 40)) if n else 3):
            j = int(rng.integers(0, max(n, 1)))
            src = np.r_[xy[j], wh[j]] if n else rng.uniform(1, 100, 4)
            box = src * np.exp(rng.normal(0, 0.15, 4))
            dets.append(dict(image_id=im['id'], bbox=box.tolist(),
                             score=float(np.round(rng.random(), 1))))  # many ties
    coco = dict(images=images, annotations=anns,
                categories=[dict(id=i, name=n) for i, n in enumerate(['b1', 'n1', 'b2', 'n2'], 1)])
    return coco, dets


def _alone(coco, dets, subset, ks):
    """The subset's boxes only, the others removed from the arrays."""
    gt = _GroundTruth(coco)
    m = np.isin(gt.cats, list(resolve_split(SPLIT, coco['categories']).ids(subset)))
    di, db, ds = results_to_arrays(dets, gt.image_ids)
    out = recall_from_arrays(len(gt.image_ids), gt.img[m], gt.boxes[m], gt.areas[m],
                             gt.crowd[m], di, db, ds, max_dets=ks)
    return {f'{subset}/{k}': v for k, v in out.items() if k != 'num_targets'}


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('threads', ['1', '2'])
def test_shared_pass_equals_each_subset_alone(seed, threads, monkeypatch):
    monkeypatch.setenv('OWP_EVAL_THREADS', threads)
    coco, dets = _case(seed)
    ks = (1, 5, 20)
    got = evaluate_proposals(coco, dets, SPLIT, ('novel', 'base', 'all'), 'remove', ks)
    want = {}
    for s in ('novel', 'base', 'all'):
        want.update(_alone(coco, dets, s, ks))
    assert got == want  # exactly: same matches, same counts
    assert list(got) == list(want)  # subset order kept
    assert got['novel/AR@20'] != got['base/AR@20']  # the case tells subsets apart


@pytest.mark.parametrize('protocol', ['ignore', 'prefilter'])
def test_protocols_on_other_boxes_evaluate_each_subset_alone(protocol):
    """'ignore' (OLN) and 'prefilter' depend on the other subset's boxes, so they
    leave the shared pass: asking for both subsets gives each one's own answer,
    which differs from 'remove' (the boxes of the other subset matter)."""
    coco, dets = _case(7)
    both = evaluate_proposals(coco, dets, SPLIT, ('novel', 'base'), protocol, (5, 20))
    for s in ('novel', 'base'):
        alone = evaluate_proposals(coco, dets, SPLIT, (s, ), protocol, (5, 20))
        assert {k: v for k, v in both.items() if k.startswith(f'{s}/')} == alone
    assert both != evaluate_proposals(coco, dets, SPLIT, ('novel', 'base'), 'remove', (5, 20))


@pytest.mark.parametrize('n', [0, 1, 2, 1000])
def test_stable_argsort_floats_is_the_stable_sort(n):
    rng = np.random.default_rng(n)
    for values in (rng.random(n).round(2),                    # many ties
                   rng.normal(size=n),                         # none
                   np.where(rng.random(n) < 0.5, 0.0, -0.0),   # -0.0 ties 0.0
                   np.r_[rng.random(n // 2), np.full(n - n // 2, np.nan)][rng.permutation(n)],
                   np.r_[np.full(n // 2, np.inf), -np.ones(n - n // 2)]):
        np.testing.assert_array_equal(stable_argsort_floats(values),
                                      np.argsort(values, kind='stable'))


@pytest.mark.parametrize('threads', [1, 3])
def test_blocked_ranking_is_rank_by_image(threads):
    """Ranges of whole images ranked apart give the whole order: images sorted
    or interleaved, empty images, an image larger than a block, tied scores."""
    from owp.evaluation.functional.ranking import rank_by_image, rank_by_image_blocked
    rng = np.random.default_rng(threads)
    sizes = rng.integers(0, 30, 200)
    sizes[[3, 50]] = 0, 400  # an empty image; one larger than any block below
    img = np.repeat(np.arange(sizes.size), sizes)
    for det_img in (img, rng.permutation(img)):
        scores = rng.integers(0, 6, det_img.size) / 5  # many ties
        want = rank_by_image(det_img, scores)
        for block in (1, 7, 100, det_img.size + 1):
            np.testing.assert_array_equal(
                rank_by_image_blocked(det_img, scores, block, threads), want)


def _links_case(rng, n=9, d=40, g=7, scale=50.0, offset=0.0):
    """Proposals near boxes and clutter; pairs with IoU exactly 1 and 0.5."""
    gts = np.concatenate([rng.uniform(0, scale, (n, g, 2)) + offset,
                          rng.uniform(0.5, 0.6 * scale, (n, g, 2))], -1)
    near = gts[:, rng.integers(0, g, d)] * np.exp(rng.normal(0, 0.2, (n, d, 4)))
    near[..., :2] = gts[:, rng.integers(0, g, d), :2] + rng.normal(0, 2, (n, d, 2))
    clutter = np.concatenate([rng.uniform(0, scale, (n, d, 2)) + offset,
                              rng.uniform(0.5, 0.6 * scale, (n, d, 2))], -1)
    dets = np.where(rng.random((n, d, 1)) < 0.5, near, clutter)
    gts[0, :3] = np.round(gts[0, :3]) + [0, 0, 1, 1]
    dets[0, :3] = gts[0, :3]  # IoU exactly 1
    gts[1, 0], dets[1, 0] = [0, 0, 1, 1], [0, 0, 2, 1]  # IoU exactly 0.5
    gts[1, 1], dets[1, 1] = [4, 4, 2, 2], [5, 4, 2, 2]  # x overlap exactly half the width
    return dets, gts


@pytest.mark.parametrize('block', [1, 50, 1 << 16])
@pytest.mark.parametrize('case', ['plain', 'far from the origin', 'a zero-area box'])
def test_iou_links_are_the_thresholded_iou_array(block, case, monkeypatch):
    """The links computed block by block (filtered by x overlap where widths are
    exact enough, else in full) are exactly the pairs and IoUs of the whole IoU
    array at the threshold, masked, in C order: IoUs exactly on the threshold,
    boxes where (x + w) - x rounds away from w, zero-area boxes."""
    from owp.evaluation.functional import iou
    monkeypatch.setattr(iou, 'IOU_BLOCK', block)
    filtered = []
    real = iou._filtered_iou
    monkeypatch.setattr(iou, '_filtered_iou', lambda *a: filtered.append(1) or real(*a))
    rng = np.random.default_rng(block)
    dets, gts = _links_case(rng, offset=1e5 if case == 'far from the origin' else 0.0)
    if case == 'a zero-area box':
        dets[2, 0, 2:] = 0
    det_ok, gt_ok = rng.random(dets.shape[:2]) < 0.9, rng.random(gts.shape[:2]) < 0.9
    det_ok[:2], gt_ok[:2] = True, True
    full = iou.box_iou_xywh(dets, gts)
    if case == 'far from the origin':
        widths = (dets[..., 0] + dets[..., 2]) - dets[..., 0]
        assert (widths != dets[..., 2]).any()  # rounding shows
    for thr in (0.5, 0.3, 0.95, 1 - 1e-10):
        want = np.nonzero((full >= thr) & det_ok[:, :, None] & gt_ok[:, None, :])
        got = iou.box_iou_links_xywh(dets, gts, thr, det_ok, gt_ok)
        for g, w in zip(got, want + (full[want], )):
            np.testing.assert_array_equal(g, w)
        assert got[0].size > 0
    assert (full == 0.5).any() and (full == 1).any()
    assert bool(filtered) == (case != 'a zero-area box' or not det_ok[2, 0])


def test_iou_filter_keeps_every_link():
    """The x-overlap filter never drops a pair that links, and drops most others,
    on many random boxes at several scales."""
    from owp.evaluation.functional import iou
    rng = np.random.default_rng(1)
    for scale, offset in ((1.0, 0.0), (600.0, 0.0), (50.0, 1e4)):
        dets, gts = _links_case(rng, n=20, d=200, g=12, scale=scale, offset=offset)
        full = iou.box_iou_xywh(dets, gts)
        buf = np.empty((2, ) + full.shape)
        kept = np.zeros(full.size, bool)
        c = 0.5 * (1 - iou.FILTER_MARGIN)
        kept[iou._wide_enough(*[(b[..., 0], b[..., 0] + b[..., 2], c * b[..., 2])
                                for b in (dets, gts)], buf)] = True
        links = (full >= 0.5).reshape(-1)
        assert links.any() and not (links & ~kept).any()
        assert kept.mean() < 0.5


def test_matching_gathers_boxes_through_an_index():
    """match_ranks_flat with det_index (boxes left in input order) is the same
    matching as with the boxes gathered first."""
    from owp.evaluation.functional.recall import IOU_THRS, match_ranks_flat, rank_by_image
    coco, dets = _case(3)
    gt = _GroundTruth(coco)
    img, boxes, scores = results_to_arrays(dets, gt.image_ids)
    order = rank_by_image(img, scores)
    args = (len(gt.image_ids), gt.img, gt.boxes, (~gt.crowd)[:, None], img[order])
    want = match_ranks_flat(*args, boxes[order], IOU_THRS, with_det_gt=True, budget=500)
    got = match_ranks_flat(*args, boxes, IOU_THRS, with_det_gt=True, budget=500,
                           det_index=order)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert (want[0] >= 0).any() and (want[0] < np.iinfo(np.int64).max).any()


def test_star_ranks_one_pass_equals_one_pass_per_threshold():
    """Per box and threshold, the best rank of the links reaching it: the running
    maximum over a box's links equals filtering the links threshold by threshold
    (thresholds unsorted and repeated too, IoUs exactly on a threshold)."""
    from owp.evaluation.functional.matching import _star_ranks
    from owp.evaluation.functional.recall import UNMATCHED
    rng = np.random.default_rng(0)
    n_links, n_boxes = 3000, 400
    # links sorted by (image, rank, box) as _links gives them: box ids and ranks
    gkey = rng.integers(0, n_boxes, n_links)
    rank = np.sort(rng.integers(0, 300, n_links))
    liou = rng.choice([0.5, 0.55, 0.62, 0.7, 0.91, 0.95, 1.0], n_links) * (
        rng.random(n_links) < 0.5) + rng.uniform(0.5, 1, n_links) * (rng.random(n_links) >= 0.5)
    for thr in (np.linspace(0.5, 0.95, 10), np.array([0.7, 0.5, 0.95, 0.7]), np.array([0.6])):
        want = np.full((n_boxes, len(thr)), UNMATCHED, np.int64)
        for ti, th in enumerate(thr):
            for j in range(n_links):  # in rank order: the first link reaching th
                if liou[j] >= th and want[gkey[j], ti] == UNMATCHED:
                    want[gkey[j], ti] = rank[j]
        np.testing.assert_array_equal(_star_ranks(gkey, rank, liou, thr, n_boxes), want)
        assert (want != UNMATCHED).any() and (want == UNMATCHED).any()


def test_ignored_tier_does_not_depend_on_the_batching():
    """The second matching tier (proposals falling to ignored boxes, crowds
    reusable) gives the same boxes in many small batches as in one."""
    from owp.evaluation.functional.recall import ignored_matches_flat, rank_by_image
    coco, dets = _case(5)
    gt = _GroundTruth(coco)
    img, boxes, scores = results_to_arrays(dets, gt.image_ids)
    order = rank_by_image(img, scores)
    rng = np.random.default_rng(5)
    ignored = rng.random((len(gt.img), 2)) < 0.6
    free = rng.random((len(order), 2)) < 0.8
    args = (len(gt.image_ids), gt.img, gt.boxes, ignored, gt.crowd, img[order], boxes[order],
            free, 0.5)
    want = ignored_matches_flat(*args, budget=2 ** 23)
    np.testing.assert_array_equal(ignored_matches_flat(*args, budget=40), want)
    assert (want >= 0).sum() > 10 and gt.crowd[want[want >= 0]].any()

"""Box IoU as pycocotools computes it (non-crowd and crowd), batched."""
import numpy as np

__all__ = ['IOU_BLOCK', 'box_iou_xywh', 'box_iou_links_xywh', 'crowd_iou_xywh']

#: Pairs per block in :func:`box_iou_xywh`: small enough that the block's
#: temporaries stay in cache (about 2x faster than whole-array passes).
IOU_BLOCK = 1 << 16


def _iou_block(d: np.ndarray, g: np.ndarray, out: np.ndarray) -> None:
    """IoU of (..., D, 4) and (..., G, 4) xywh boxes into ``out`` (..., D, G)."""
    d, g = d[..., :, None, :], g[..., None, :, :]
    dx1, dy1, dw, dh = (d[..., i] for i in range(4))
    gx1, gy1, gw, gh = (g[..., i] for i in range(4))
    # same arithmetic as pycocotools' bbox IoU, with few temporaries
    inter = np.minimum(dx1 + dw, gx1 + gw, out=out)
    inter -= np.maximum(dx1, gx1)
    np.maximum(inter, 0, out=inter)
    ih = np.minimum(dy1 + dh, gy1 + gh)
    ih -= np.maximum(dy1, gy1)
    np.maximum(ih, 0, out=ih)
    inter *= ih
    union = dw * dh + gw * gh - inter
    np.divide(inter, union, out=inter, where=union > 0)
    inter[union <= 0] = 0.0


def box_iou_xywh(dets: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """IoU as pycocotools computes it for non-crowd boxes, batched.

    Computed in blocks of about :data:`IOU_BLOCK` pairs; every element gets
    the same float64 operations in the same order whatever the blocking.

    Args:
        dets: (..., D, 4) boxes, xywh.
        gts: (..., G, 4) boxes, xywh.

    Returns:
        np.ndarray: (..., D, G) float64 IoU (0 where the union is empty).
    """
    d = np.asarray(dets, np.float64)
    g = np.asarray(gts, np.float64)
    if d.ndim == 2 and g.ndim == 2:  # one image: each proposal its own batch row
        return box_iou_xywh(d[:, None], g[None])[:, 0]
    lead = np.broadcast_shapes(d.shape[:-2], g.shape[:-2])
    n_d, n_g = d.shape[-2], g.shape[-2]
    out = np.empty(lead + (n_d, n_g))
    d = np.broadcast_to(d, lead + (n_d, 4)).reshape(-1, n_d, 4)
    g = np.broadcast_to(g, lead + (n_g, 4)).reshape(-1, n_g, 4)
    flat = out.reshape(-1, n_d, n_g)
    step = max(1, IOU_BLOCK // max(n_d * n_g, 1))
    for i in range(0, len(flat), step):
        _iou_block(d[i:i + step], g[i:i + step], flat[i:i + step])
    return out


def box_iou_links_xywh(dets: np.ndarray, gts: np.ndarray, thr: float, det_ok: np.ndarray,
                       gt_ok: np.ndarray):
    """The pairs with IoU >= ``thr`` of :func:`box_iou_xywh`, without its array.

    ``np.nonzero((box_iou_xywh(dets, gts) >= thr) & det_ok[:, :, None] &
    gt_ok[:, None, :])`` and those IoUs, computed in blocks of about
    :data:`IOU_BLOCK` pairs that stay in cache: the (N, D, G) array is never
    built (nor its memory faulted in). With ``thr`` > 0, a block first keeps
    the pairs whose x overlap can reach the threshold (:func:`_wide_enough`,
    a few percent of them on detector output) and computes the IoU of those
    alone; the IoU of a pair is always the same float64 operations as
    :func:`box_iou_xywh`'s, so the same pairs and IoUs.

    Args:
        dets: (N, D, 4) boxes, xywh.
        gts: (N, G, 4) boxes, xywh.
        thr: The IoU threshold.
        det_ok: (N, D) bool, proposals that may link.
        gt_ok: (N, G) bool, boxes that may link.

    Returns:
        tuple: ``(image, det, box, iou)``, (L,) each (int64 indices, float64
        IoU), sorted by image, then det, then box.
    """
    n, d, g = dets.shape[0], dets.shape[1], gts.shape[1]
    step = max(1, IOU_BLOCK // max(d * g, 1))
    filtered = thr > 0 and _widths_exact(dets, det_ok) and _widths_exact(gts, gt_ok)
    if filtered:
        c = thr * (1 - FILTER_MARGIN)
        dx = (dets[..., 0], dets[..., 0] + dets[..., 2], c * dets[..., 2])  # x1, x2, c w
        gx = (gts[..., 0], gts[..., 0] + gts[..., 2], c * gts[..., 2])
    buf = np.empty((2, min(step, n), d, g))
    parts = []
    for i in range(0, n, step):
        j = min(i + step, n)
        if filtered:  # the few pairs kept, and their x overlap; their IoUs below
            f = _wide_enough([a[i:j] for a in dx], [a[i:j] for a in gx], buf[:, :j - i])
            parts.append((f + i * d * g, np.take(buf[0].reshape(-1), f)))
            continue
        block = buf[0, :j - i]
        _iou_block(dets[i:j], gts[i:j], block)
        link = block >= thr
        link &= det_ok[i:j, :, None]
        link &= gt_ok[i:j, None, :]
        li, ld, lg = np.nonzero(link)
        parts.append((li + i, ld, lg, block[link]))
    if filtered and parts:  # all the batch's pairs at once: few, large numpy calls
        f, iw = (np.concatenate(p) for p in zip(*parts))
        return _filtered_iou(dets, gts, f, iw, thr, det_ok, gt_ok)
    if not parts:
        return (np.zeros(0, np.int64), ) * 3 + (np.zeros(0), )
    return tuple(np.concatenate(p) for p in zip(*parts))


#: Largest relative error of a box's width as the IoU sees it, ``(x + w) - x``,
#: for which :func:`_wide_enough` is exact (far above float64 rounding for any
#: box not 10^6 times smaller than its coordinates).
WIDTH_RTOL = 1e-8
#: The filter's threshold is ``thr * (1 - FILTER_MARGIN)``, margin for rounding.
FILTER_MARGIN = 1e-6


def _widths_exact(boxes: np.ndarray, ok: np.ndarray) -> bool:
    """Whether every box of (N, K, 4) xywh ``boxes`` where (N, K) ``ok`` has
    w, h > 0 and ``(x + w) - x`` within :data:`WIDTH_RTOL` of w (same for h)."""
    for lo, size in ((0, 2), (1, 3)):
        x, w = boxes[..., lo], boxes[..., size]
        err = (x + w) - x
        err -= w
        np.abs(err, out=err)
        good = err <= WIDTH_RTOL * w
        good &= w > 0
        if not (good | ~ok).all():
            return False
    return True


def _wide_enough(dx, gx, buf: np.ndarray) -> np.ndarray:
    """Flat indices of the (b, D, G) pairs whose x overlap reaches
    ``c * max(w_det, w_box)``, and that overlap ((b, D, G), in ``buf[0]``).

    With ``c = thr * (1 - FILTER_MARGIN)``, a necessary condition of IoU >=
    ``thr`` > 0: the intersection is at most the x overlap times the smaller
    height and the union at least the larger area, so IoU <= overlap / max
    width; with widths as exact as :data:`WIDTH_RTOL`, rounding never breaks it.

    Args:
        dx: ``(x1, x2, c * w)`` of the proposals, (b, D) each.
        gx: The same of the boxes, (b, G) each.
        buf: (2, b, D, G) float64 scratch.

    Returns:
        np.ndarray: (P,) int64 flat indices into (b, D, G).
    """
    iw, tmp = buf[0], buf[1]
    np.minimum(dx[1][:, :, None], gx[1][:, None, :], out=iw)
    np.maximum(dx[0][:, :, None], gx[0][:, None, :], out=tmp)
    iw -= tmp
    np.maximum(dx[2][:, :, None], gx[2][:, None, :], out=tmp)
    return np.flatnonzero(iw >= tmp)


def _filtered_iou(dets: np.ndarray, gts: np.ndarray, f: np.ndarray, iw: np.ndarray,
                  thr: float, det_ok: np.ndarray, gt_ok: np.ndarray):
    """The links among the pairs ``f`` that :func:`_wide_enough` kept, their
    IoU computed with :func:`_iou_block`'s float64 operations.

    Args:
        dets: (N, D, 4) proposals.
        gts: (N, G, 4) boxes.
        f: (P,) flat indices into (N, D, G), increasing.
        iw: (P,) their x overlaps.
        thr, det_ok, gt_ok: As :func:`box_iou_links_xywh`.

    Returns:
        tuple: ``(image, det, box, iou)``, (L,) each.
    """
    d, g = dets.shape[1], gts.shape[1]
    q = f // g  # proposal, flat over (N, D)
    img = q // d
    k = f - q * g  # box within its image
    gq = img * g + k  # box, flat over (N, G)
    keep = np.take(det_ok.reshape(-1), q) & np.take(gt_ok.reshape(-1), gq)
    q, gq, img, k = q[keep], gq[keep], img[keep], k[keep]
    dq = np.take(dets.reshape(-1, 4), q, axis=0)
    gg = np.take(gts.reshape(-1, 4), gq, axis=0)
    inter = iw[keep]
    np.maximum(inter, 0, out=inter)
    ih = np.minimum(dq[:, 1] + dq[:, 3], gg[:, 1] + gg[:, 3])
    ih -= np.maximum(dq[:, 1], gg[:, 1])
    np.maximum(ih, 0, out=ih)
    inter *= ih
    union = dq[:, 2] * dq[:, 3] + gg[:, 2] * gg[:, 3] - inter
    np.divide(inter, union, out=inter, where=union > 0)
    inter[union <= 0] = 0.0
    link = inter >= thr
    img = img[link]
    return img, q[link] - img * d, k[link], inter[link]


def crowd_iou_xywh(dets: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """IoU as pycocotools computes it for crowd boxes: intersection / proposal area.

    Same float64 operations as pycocotools' ``bbIou`` with ``iscrowd=1``.

    Args:
        dets: (..., D, 4) boxes, xywh.
        gts: (..., G, 4) crowd boxes, xywh.

    Returns:
        np.ndarray: (..., D, G) float64 (0 where the boxes do not overlap).
    """
    d = np.asarray(dets, np.float64)[..., :, None, :]
    g = np.asarray(gts, np.float64)[..., None, :, :]
    iw = np.minimum(d[..., 0] + d[..., 2], g[..., 0] + g[..., 2]) - np.maximum(d[..., 0],
                                                                              g[..., 0])
    ih = np.minimum(d[..., 1] + d[..., 3], g[..., 1] + g[..., 3]) - np.maximum(d[..., 1],
                                                                              g[..., 1])
    inter = iw * ih
    area = np.broadcast_to(d[..., 2] * d[..., 3], inter.shape)
    out = np.zeros(inter.shape)
    np.divide(inter, area, out=out, where=(iw > 0) & (ih > 0) & (area != 0))
    return out


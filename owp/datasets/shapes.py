"""The synthetic "shapes" open-world benchmark.

Images hold several objects of eight shape classes (4 base + 4 novel by default)
on textured, noisy backgrounds, with a wide range of sizes and some overlap.
Training images contain novel objects too; once the base split is applied they
are unlabelled background, exactly like COCO's non-VOC objects in the paper's
VOC -> non-VOC setting.

The output is a COCO-format dataset::

    OUT/
      train/000000.jpg ...
      val/000000.jpg ...
      annotations/instances_train.json
      annotations/instances_val.json

Every annotation holds all classes; the split is applied by the configs
(training keeps base classes only) and by the evaluator (recall on novel).
``bbox`` is the tight box of the object's visible pixels and ``area`` their
count, so the two always agree (``area <= w * h``). The whole dataset is a
pure function of its arguments (seed included).

CLI::

    python -m owp.datasets.shapes --out data/shapes --num-train 800 --num-val 200
"""
import argparse
import json
import math
import os
import os.path as osp
import shutil
import sys
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .splits import SHAPES_BASE_CLASSES, SHAPES_NOVEL_CLASSES

__all__ = ['ShapesConfig', 'generate_shapes', 'render_shape', 'main']

#: Every shape this generator can draw.
SHAPE_KINDS = ('ellipse', 'rectangle', 'triangle', 'cross', 'star', 'ring',
               'hexagon', 'arrow')


@dataclass
class ShapesConfig:
    """Arguments of :func:`generate_shapes` (also the CLI's options).

    Sizes are the side of the object's square footprint in pixels, drawn
    log-uniformly in ``[min_size, max_size]`` so that small objects are as
    common per octave as large ones.
    """
    num_train: int = 800
    num_val: int = 200
    img_size: Tuple[int, int] = (160, 160)  # (height, width)
    min_objects: int = 3
    max_objects: int = 8
    min_size: int = 10
    max_size: int = 72
    max_overlap: float = 0.3   # max fraction of an object that others may hide
    base_classes: Sequence[str] = field(default_factory=lambda: list(SHAPES_BASE_CLASSES))
    novel_classes: Sequence[str] = field(default_factory=lambda: list(SHAPES_NOVEL_CLASSES))
    seed: int = 0
    jpeg_quality: int = 95

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first argument that cannot work."""
        h, w = self.img_size
        if h <= 0 or w <= 0:
            raise ValueError(f'img_size must be positive, got {self.img_size}')
        if self.num_train < 0 or self.num_val < 0:
            raise ValueError('num_train and num_val must be >= 0, got '
                             f'{self.num_train}, {self.num_val}')
        if not 1 <= self.min_objects <= self.max_objects:
            raise ValueError('need 1 <= min_objects <= max_objects, got '
                             f'min_objects={self.min_objects}, max_objects={self.max_objects}')
        if not 4 <= self.min_size <= self.max_size:
            raise ValueError('need 4 <= min_size <= max_size, got '
                             f'min_size={self.min_size}, max_size={self.max_size}')
        if self.max_size > min(h, w):
            raise ValueError(f'max_size={self.max_size} is larger than the image '
                             f'(img_size={self.img_size}): objects must fit inside it')
        if not 0.0 <= self.max_overlap < 1.0:
            raise ValueError(f'max_overlap must be in [0, 1), got {self.max_overlap}')
        classes = list(self.base_classes) + list(self.novel_classes)
        if not classes:
            raise ValueError('zero classes: base_classes and novel_classes are both empty')
        if not self.base_classes:
            raise ValueError('base_classes is empty: nothing to train on')
        unknown = [c for c in classes if c not in SHAPE_KINDS]
        if unknown:
            raise ValueError(f'unknown shape class(es) {unknown}; allowed: {list(SHAPE_KINDS)}')
        both = sorted(set(self.base_classes) & set(self.novel_classes))
        if both:
            raise ValueError(f'classes {both} are both base and novel: the split must be disjoint')
        dup = sorted({c for c in classes if classes.count(c) > 1})
        if dup:
            raise ValueError(f'classes {dup} are listed twice')


def _regular_polygon(n: int, r: float, phase: float) -> np.ndarray:
    t = phase + np.arange(n) * 2 * math.pi / n
    return np.stack([r * np.cos(t), r * np.sin(t)], 1)


def _shape_polygons(kind: str, s: float, rng: np.random.Generator) -> List[np.ndarray]:
    """Polygons (each (K, 2), xy relative to the centre) filling an s x s square."""
    h = s / 2
    if kind == 'rectangle':
        a = rng.uniform(0.45, 1.0)
        w, hh = (h, h * a) if rng.random() < 0.5 else (h * a, h)
        return [np.array([[-w, -hh], [w, -hh], [w, hh], [-w, hh]])]
    if kind == 'triangle':
        return [np.array([[0, -h], [h, h], [-h, h]])]
    if kind == 'cross':
        t = h * rng.uniform(0.3, 0.45)
        return [np.array([[-t, -h], [t, -h], [t, h], [-t, h]]),
                np.array([[-h, -t], [h, -t], [h, t], [-h, t]])]
    if kind == 'star':
        outer = _regular_polygon(5, h, -math.pi / 2)
        inner = _regular_polygon(5, h * 0.42, -math.pi / 2 + math.pi / 5)
        return [np.stack([outer, inner], 1).reshape(-1, 2)]
    if kind == 'hexagon':
        return [_regular_polygon(6, h, 0.0)]
    if kind == 'arrow':
        t = h * 0.3
        return [np.array([[-h, -t], [0, -t], [0, -h], [h, 0], [0, h], [0, t], [-h, t]])]
    raise KeyError(kind)


def render_shape(kind: str, size: int, angle: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Binary mask of one shape.

    Args:
        kind: One of :data:`SHAPE_KINDS`.
        size: Side of the square canvas (the object fills most of it).
        angle: Rotation in radians.
        rng: Random generator (aspect ratios, arm widths).

    Returns:
        np.ndarray: (size, size) uint8 mask with values in {0, 1}.
    """
    mask = np.zeros((size, size), np.uint8)
    c = (size - 1) / 2.0
    if kind in ('ellipse', 'ring'):
        ax = (size / 2 - 0.5, (size / 2 - 0.5) * rng.uniform(0.5, 1.0))
        if kind == 'ring':
            ax = (ax[0], ax[0])
        centre = (int(round(c * 16)), int(round(c * 16)))
        axes = (int(ax[0] * 16), int(ax[1] * 16))
        cv2.ellipse(mask, centre, axes, math.degrees(angle), 0, 360, 1, -1,
                    cv2.LINE_8, shift=4)
        if kind == 'ring':
            inner = (int(ax[0] * 0.55 * 16), int(ax[1] * 0.55 * 16))
            cv2.ellipse(mask, centre, inner, 0, 0, 360, 0, -1, cv2.LINE_8, shift=4)
        return mask
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    # Shrink so that the rotated polygon still fits in the canvas.
    polys = _shape_polygons(kind, size - 1, rng)
    pts = np.concatenate(polys)
    extent = np.abs(pts @ rot.T).max()
    scale = (size / 2 - 0.5) / max(extent, 1e-6)
    for p in polys:
        q = (p @ rot.T) * scale + c
        cv2.fillPoly(mask, [np.round(q * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
    return mask


def _background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A textured, noisy background: colour gradient + low-freq blobs + stripes + noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(40, 200, 3).astype(np.float32)
    grad = rng.uniform(-60, 60, (2, 3)).astype(np.float32)
    img = base + (xx / w)[..., None] * grad[0] + (yy / h)[..., None] * grad[1]
    low = rng.normal(0, 1, (max(h // 16, 2), max(w // 16, 2), 3)).astype(np.float32)
    img += cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC) * rng.uniform(10, 30)
    if rng.random() < 0.5:  # stripes/texture that objects must be told apart from
        f = rng.uniform(0.05, 0.3)
        th = rng.uniform(0, math.pi)
        img += (np.sin(f * (xx * math.cos(th) + yy * math.sin(th)))[..., None]
                * rng.uniform(5, 25))
    img += rng.normal(0, rng.uniform(3, 12), img.shape).astype(np.float32)
    return img


def _make_image(cfg: ShapesConfig, classes: List[str],
                rng: np.random.Generator) -> Tuple[np.ndarray, List[Dict]]:
    """One image and its objects (category index, visible mask)."""
    h, w = cfg.img_size
    img = _background(h, w, rng)
    owner = np.full((h, w), -1, np.int32)     # which object each pixel shows
    full_area: List[int] = []
    kinds: List[int] = []
    n = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    lo, hi = math.log(cfg.min_size), math.log(cfg.max_size)
    for _ in range(n):
        for _attempt in range(20):
            size = int(round(math.exp(rng.uniform(lo, hi))))
            cls = int(rng.integers(len(classes)))
            mask = render_shape(classes[cls], size, rng.uniform(0, 2 * math.pi), rng)
            y0 = int(rng.integers(0, h - size + 1))
            x0 = int(rng.integers(0, w - size + 1))
            m = mask.astype(bool)
            region = owner[y0:y0 + size, x0:x0 + size]
            hidden = region[m]
            ok = True
            for j in np.unique(hidden[hidden >= 0]):
                visible_after = np.count_nonzero(owner == j) - np.count_nonzero(hidden == j)
                if visible_after < (1 - cfg.max_overlap) * full_area[j]:
                    ok = False
                    break
            if ok:
                break
        else:
            continue  # too crowded: fewer objects in this image
        idx = len(kinds)
        kinds.append(cls)
        full_area.append(int(m.sum()))
        region[m] = idx
        colour = rng.uniform(0, 255, 3).astype(np.float32)
        patch = img[y0:y0 + size, x0:x0 + size]
        shade = rng.normal(0, rng.uniform(2, 10), patch.shape).astype(np.float32)
        patch[m] = (colour + shade)[m]
    objs = []
    for idx, cls in enumerate(kinds):
        vis = owner == idx
        ys, xs = np.nonzero(vis)
        if len(xs) == 0:
            continue
        objs.append(dict(cls=cls, area=int(len(xs)),
                         bbox=[int(xs.min()), int(ys.min()),
                               int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]))
    return np.clip(img, 0, 255).astype(np.uint8), objs


#: Draws of one image before min_objects is declared impossible.
IMAGE_TRIES = 20


def _write_image_set(cfg: ShapesConfig, out: str, image_set: str, num: int, seed: int,
                     classes: List[str], progress: bool) -> Dict:
    img_dir = osp.join(out, image_set)
    os.makedirs(img_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    h, w = cfg.img_size
    images, anns = [], []
    for i in range(num):
        for _ in range(IMAGE_TRIES):  # crowded draws are redrawn, so min_objects holds
            img, objs = _make_image(cfg, classes, rng)
            if len(objs) >= cfg.min_objects:
                break
        else:
            raise ValueError(
                f'cannot place min_objects={cfg.min_objects} objects of {cfg.min_size}-'
                f'{cfg.max_size} px with max_overlap={cfg.max_overlap} in a {w}x{h} image '
                f'({IMAGE_TRIES} tries at {image_set} image {i}); lower min_objects or max_size, '
                'or raise max_overlap or img_size')
        name = f'{i:06d}.jpg'
        cv2.imwrite(osp.join(img_dir, name), img[..., ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality])
        images.append(dict(id=i + 1, file_name=name, height=h, width=w))
        for o in objs:
            anns.append(dict(id=len(anns) + 1, image_id=i + 1, category_id=o['cls'] + 1,
                             bbox=o['bbox'], area=o['area'], iscrowd=0))
        if progress and ((i + 1) % 200 == 0 or i + 1 == num):
            print(f'[shapes] {image_set}: {i + 1}/{num} images', file=sys.stderr, flush=True)
    base = set(cfg.base_classes)
    coco = dict(
        info=dict(description='owp synthetic shapes benchmark', config=_jsonable(cfg)),
        images=images, annotations=anns,
        categories=[dict(id=k + 1, name=c, supercategory='base' if c in base else 'novel')
                    for k, c in enumerate(classes)])
    ann_file = osp.join(out, 'annotations', f'instances_{image_set}.json')
    os.makedirs(osp.dirname(ann_file), exist_ok=True)
    with open(ann_file, 'w') as f:
        json.dump(coco, f)
    return coco


def _jsonable(cfg: ShapesConfig) -> Dict:
    d = asdict(cfg)
    d['img_size'] = list(cfg.img_size)
    d['base_classes'] = list(cfg.base_classes)
    d['novel_classes'] = list(cfg.novel_classes)
    return d


def generate_shapes(out: str, cfg: Optional[ShapesConfig] = None, *, overwrite: bool = True,
                    progress: bool = False) -> Dict[str, str]:
    """Write the benchmark to ``out`` and return the annotation file paths.

    If ``out`` already holds a dataset made with the same config it is reused as
    is (generation is deterministic, so the files would be identical); with
    another config it is replaced when ``overwrite`` is true and an error is
    raised otherwise.

    Args:
        out: Output folder.
        cfg: Generator settings; defaults to :class:`ShapesConfig()`.
        overwrite: Replace an existing dataset made with another config.
        progress: Print progress to stderr.

    Returns:
        dict: ``{'train': ann_file, 'val': ann_file}``.
    """
    cfg = cfg or ShapesConfig()
    cfg.validate()
    classes = list(cfg.base_classes) + list(cfg.novel_classes)
    files = {s: osp.join(out, 'annotations', f'instances_{s}.json') for s in ('train', 'val')}
    stamp = osp.join(out, 'shapes_config.json')
    want = _jsonable(cfg)
    if osp.exists(stamp):
        with open(stamp) as f:
            have = json.load(f)
        if have == want and all(osp.exists(p) for p in files.values()):
            if progress:
                print(f'[shapes] reusing {out} (same config)', file=sys.stderr)
            return files
        if not overwrite:
            raise FileExistsError(f'{out} holds a shapes dataset made with another config; '
                                  'pass overwrite=True (CLI: --overwrite) to replace it')
    for sub in ('train', 'val', 'annotations'):
        shutil.rmtree(osp.join(out, sub), ignore_errors=True)
    if osp.exists(stamp):
        os.remove(stamp)
    # Independent streams so that train does not change when num_val does.
    seeds = np.random.SeedSequence(cfg.seed).spawn(2)
    _write_image_set(cfg, out, 'train', cfg.num_train, seeds[0], classes, progress)
    _write_image_set(cfg, out, 'val', cfg.num_val, seeds[1], classes, progress)
    with open(stamp, 'w') as f:  # written last: marks a complete dataset
        json.dump(want, f, indent=1)
    return files


def parse_args(argv=None) -> Tuple[str, ShapesConfig, bool]:
    d = ShapesConfig()
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--out', default='data/shapes', help='output folder')
    p.add_argument('--num-train', type=int, default=d.num_train)
    p.add_argument('--num-val', type=int, default=d.num_val)
    p.add_argument('--img-size', type=int, nargs=2, default=list(d.img_size), metavar=('H', 'W'))
    p.add_argument('--min-objects', type=int, default=d.min_objects)
    p.add_argument('--max-objects', type=int, default=d.max_objects)
    p.add_argument('--min-size', type=int, default=d.min_size)
    p.add_argument('--max-size', type=int, default=d.max_size)
    p.add_argument('--max-overlap', type=float, default=d.max_overlap)
    p.add_argument('--base-classes', nargs='*', default=list(d.base_classes))
    p.add_argument('--novel-classes', nargs='*', default=list(d.novel_classes))
    p.add_argument('--seed', type=int, default=d.seed)
    p.add_argument('--no-overwrite', action='store_true',
                   help='fail instead of replacing a dataset made with another config')
    a = p.parse_args(argv)
    cfg = ShapesConfig(num_train=a.num_train, num_val=a.num_val, img_size=tuple(a.img_size),
                       min_objects=a.min_objects, max_objects=a.max_objects,
                       min_size=a.min_size, max_size=a.max_size, max_overlap=a.max_overlap,
                       base_classes=a.base_classes, novel_classes=a.novel_classes, seed=a.seed)
    return a.out, cfg, not a.no_overwrite


def main(argv=None) -> int:
    out, cfg, overwrite = parse_args(argv)
    try:
        files = generate_shapes(out, cfg, overwrite=overwrite, progress=True)
    except (ValueError, FileExistsError) as e:
        print(f'owp-shapes: error: {e}', file=sys.stderr)
        return 2
    for image_set, path in files.items():
        print(f'{image_set}: {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Proposal gallery: what a model proposes on novel objects it was never taught.

Images with each run's top-k proposals drawn, every novel ground-truth box found
(green, solid) or missed (red, dashed) by them at IoU >= ``iou_thr``, base boxes grey;
several runs side by side on the same images, which can be ordered by the novel
objects a run misses. Reads the proposals the study runner (``dump_proposals``) or
``eval_novel --dump-proposals`` wrote; never runs a model.

"Found" is recall at one IoU threshold as the evaluator counts it under the
``'remove'`` protocol: COCO's greedy matching of the first k proposals (by score)
to the novel boxes alone, each proposal taking at most one box.
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from .recall_curves import (
    PROPOSALS_INFO_FILE,
    RunRecord,
    _no_dump_message,
    load_coco,
    recall_runs,
)
from .style import save_figure

__all__ = ['GALLERY_COLORS', 'GalleryImage', 'gallery_table', 'novel_hits', 'plot_gallery',
           'proposals_by_image', 'proposals_gallery', 'select_runs']

#: Okabe & Ito's bluish green and vermillion (told apart by colour-blind readers, and by
#: line style: found solid, missed dashed), grey for base objects, blue for proposals.
GALLERY_COLORS = {'found': '#009E73', 'missed': '#D55E00', 'base': '#999999',
                  'proposal': '#0072B2'}


def novel_hits(gt_boxes: np.ndarray, proposals: np.ndarray, k: int,
               iou_thr: float = 0.5) -> np.ndarray:
    """Which ground-truth boxes the first ``k`` proposals find at IoU >= ``iou_thr``.

    COCO's greedy matching (pycocotools, the evaluator's
    :func:`~owp.evaluation.functional.greedy_match_ranks`): proposals in rank order each
    take the free box of highest IoU >= ``iou_thr``; a proposal takes one box at most.
    Summed over images this is the recall at that IoU that AR averages.

    Args:
        gt_boxes: (G, 4) xywh boxes (e.g. the novel boxes of one image).
        proposals: (P, 4) xywh proposals of that image, best first.
        k: How many proposals count.
        iou_thr: The IoU a proposal needs to find a box.

    Returns:
        np.ndarray: (G,) bool, True where a box is found.
    """
    from ..evaluation.functional import box_iou_xywh, greedy_match_ranks
    gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
    top = np.asarray(proposals, np.float64).reshape(-1, 4)[:max(int(k), 0)]
    if len(gt_boxes) == 0 or len(top) == 0:
        return np.zeros(len(gt_boxes), bool)
    ious = box_iou_xywh(top, gt_boxes)
    ranks = greedy_match_ranks(ious[None], np.ones((1, len(top)), bool),
                               np.ones((1, 1, len(gt_boxes)), bool),
                               np.array([iou_thr], np.float64))
    return ranks[0, 0, 0] < len(top)


def proposals_by_image(proposals: str, image_ids: Sequence[int]) -> Dict[int, np.ndarray]:
    """A proposals file as ``{image id: (P, 4) xywh boxes, best first}``.

    Ranked as the evaluator ranks them: by score, ties in file order.
    """
    from ..evaluation.functional.results_io import load_results
    img, boxes, scores = load_results(proposals, list(image_ids), validate=False)
    order = np.lexsort((np.arange(len(img)), -scores, img))
    img, boxes = img[order], boxes[order]
    starts = np.searchsorted(img, np.arange(len(image_ids) + 1))
    return {image_ids[i]: boxes[starts[i]:starts[i + 1]] for i in range(len(image_ids))}


@dataclass
class GalleryImage:
    """One image of the gallery: its boxes and, per run, its proposals and hits."""
    image_id: int
    file_name: str
    novel: np.ndarray                     # (N, 4) xywh, non-crowd novel boxes
    base: np.ndarray                      # (B, 4) xywh
    proposals: Dict[str, np.ndarray] = field(default_factory=dict)  # top k per run
    found: Dict[str, np.ndarray] = field(default_factory=dict)      # (N,) bool per run


def gallery_table(runs: Mapping[str, str], coco: Mapping, split, k: int = 10,
                  iou_thr: float = 0.5, sort_by: Optional[str] = None
                  ) -> Tuple[pd.DataFrame, Dict[int, GalleryImage]]:
    """Novel objects found and missed per image and run.

    Args:
        runs: ``{label: proposals file}``, all evaluated on ``coco``.
        coco: The annotation dict.
        split: Split name, file or dict (which classes are novel).
        k: Proposals per image that count (and are drawn).
        iou_thr: IoU for "found".
        sort_by: Order images by the novel objects this run misses (most first; then
            more novel objects, then image id); None: image id order.

    Returns:
        tuple: a table (image_id, file_name, novel, base, ``missed <label>`` per run)
        and ``{image id: GalleryImage}``.
    """
    from ..datasets.splits import resolve_split
    from ..evaluation.functional.ground_truth import GroundTruth
    sp = resolve_split(split, coco['categories'])
    gt = GroundTruth(coco)
    novel = np.isin(gt.cats, list(sp.novel_ids)) & ~gt.crowd
    base = np.isin(gt.cats, list(sp.base_ids))
    names = {im['id']: im.get('file_name', '') for im in coco['images']}
    images = {}
    for i, image_id in enumerate(gt.image_ids):
        here = gt.img == i
        images[image_id] = GalleryImage(image_id, names[image_id], gt.boxes[here & novel],
                                        gt.boxes[here & base])
    for label, path in runs.items():
        per_image = proposals_by_image(path, gt.image_ids)
        for image_id, im in images.items():
            top = per_image[image_id][:k]
            im.proposals[label] = top
            im.found[label] = novel_hits(im.novel, top, k, iou_thr)
    rows = []
    for im in images.values():
        row = dict(image_id=im.image_id, file_name=im.file_name, novel=len(im.novel),
                   base=len(im.base))
        for label in runs:
            row[f'missed {label}'] = int((~im.found[label]).sum())
        rows.append(row)
    table = pd.DataFrame(rows)
    if sort_by is not None:
        if sort_by not in runs:
            raise ValueError(f'sort_by={sort_by!r} is not one of the runs {list(runs)}')
        table = table.sort_values([f'missed {sort_by}', 'novel', 'image_id'],
                                  ascending=[False, False, True], kind='stable')
    return table.reset_index(drop=True), images


def _read_image(path: str, image_id: int, file_name: str):
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'image {path} (image id {image_id}, file_name {file_name!r}) does not exist: '
            'pass the folder holding the annotation file\'s images as image_dir= '
            '(--image-dir), e.g. data/shapes/val/')
    import matplotlib.image as mpimg
    return mpimg.imread(path)


def plot_gallery(images: Sequence[GalleryImage], runs: Sequence[str], image_dir: str, out: str,
                 k: int, iou_thr: float, title: Optional[str] = None,
                 note: Optional[str] = None, dpi: int = 150):
    """One row per image, one column per run: proposals, found / missed novel, base boxes.

    Args:
        images: The images to show, in order (from :func:`gallery_table`).
        runs: Run labels (columns), keys of each image's ``proposals``.
        image_dir: Folder of the images' ``file_name``.
        out: Output path without extension (PNG and PDF).
        k, iou_thr: As used for the hits (named in the title).
        title: Figure title.
        note: Text under the figure.
        dpi: Resolution of the PNG.

    Returns:
        tuple: ``(figure, [png, pdf])``.

    Raises:
        FileNotFoundError: a missing image, naming it and ``image_dir``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    pixels = [_read_image(osp.join(image_dir, im.file_name), im.image_id, im.file_name)
              for im in images]
    n, m = len(images), len(runs)
    fig, axes = plt.subplots(n, m, figsize=(3.2 * m, 3.5 * n + 1.0), squeeze=False,
                             layout='constrained')
    c = GALLERY_COLORS
    for i, (im, px) in enumerate(zip(images, pixels)):
        for j, run in enumerate(runs):
            ax = axes[i, j]
            ax.imshow(px, cmap='gray' if px.ndim == 2 else None)
            for x, y, w, h in im.proposals[run]:
                ax.add_patch(Rectangle((x, y), w, h, fill=False, ec=c['proposal'], lw=0.8,
                                       alpha=0.7))
            for x, y, w, h in im.base:
                ax.add_patch(Rectangle((x, y), w, h, fill=False, ec=c['base'], lw=1.6))
            for (x, y, w, h), hit in zip(im.novel, im.found[run]):
                ax.add_patch(Rectangle((x, y), w, h, fill=False, lw=2.0,
                                       ec=c['found'] if hit else c['missed'],
                                       ls='-' if hit else '--'))
            found = int(im.found[run].sum())
            ax.set_title(f'{run}\nimage {im.image_id}: {found}/{len(im.novel)} novel found',
                         fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    handles = [Line2D([], [], color=c['proposal'], lw=0.9, label=f'top-{k} proposals'),
               Line2D([], [], color=c['found'], lw=2, label=f'novel, found (IoU ≥ {iou_thr:g})'),
               Line2D([], [], color=c['missed'], lw=2, ls='--', label='novel, missed'),
               Line2D([], [], color=c['base'], lw=1.6, label='base object (trained class)')]
    # the title heads the legend: constrained layout stacks a suptitle over an outside legend
    fig.legend(handles=handles, loc='outside upper center', ncol=2, fontsize=8, frameon=False,
               title=title or f'top-{k} proposals on novel objects', title_fontsize=10)
    if note:
        import textwrap
        fig.supxlabel(textwrap.fill(note, int(16 * fig.get_figwidth())), fontsize=7)
    return fig, save_figure(fig, out, dpi=dpi)


def select_runs(work_dirs: Union[str, Sequence[str]], runs: Sequence[str], seed: Optional[int]
                = None, study=None) -> List[RunRecord]:
    """The records of ``runs`` (``'row'``: its first score mode, or ``'row:score'``).

    Raises:
        ValueError: an unknown row or score (naming those there are), or a run without
            a proposals dump (saying how to make one).
    """
    records = recall_runs(work_dirs, study)
    chosen = []
    for spec in runs:
        row, _, score = spec.partition(':')
        mine = [r for r in records if r.row == row and (not score or r.score == score)
                and (seed is None or r.seed == seed)]
        if not mine:
            have = sorted({f'{r.row}:{r.score} (seed {r.seed})' for r in records})
            raise ValueError(f'no finished run {spec!r}' + (f' with seed {seed}' if seed is not
                                                            None else '')
                             + f' under {work_dirs}; there are: {", ".join(have)}')
        first = min(mine, key=lambda r: (r.seed, r.order))
        if first.proposals is None:
            raise ValueError(_no_dump_message(first))
        chosen.append(first)
    return chosen


def proposals_gallery(work_dirs: Union[str, Sequence[str]], runs: Sequence[str], out: str,
                      seed: Optional[int] = None, k: int = 10, iou_thr: float = 0.5,
                      num_images: int = 6, sort_by: Optional[str] = 'missed',
                      ann_file: Optional[str] = None, split=None,
                      image_dir: Optional[str] = None, image_ids: Optional[Sequence[int]] = None,
                      caption: str = '', study=None, dpi: int = 150) -> Dict[str, object]:
    """The gallery of a study's runs side by side (what the script does).

    Args:
        work_dirs: Study work dir(s) or run dir(s).
        runs: ``'row'`` or ``'row:score'``, one column each (e.g. ``['fcos', 'owp-iou-cs-is']``).
        out: Output path without extension; the table goes to ``<out>.csv``.
        seed: Which seed (default: each run's lowest).
        k: Proposals drawn and counted per image.
        iou_thr: IoU for "found".
        num_images: Images shown.
        sort_by: 'missed' (images where the first run misses most novel objects first),
            'missed:<i>' (the i-th run, from 0), or None/'id' (image id order).
        ann_file, split, image_dir: Override (or, for ``eval_novel`` dumps, give) what
            ``proposals_info.json`` records.
        image_ids: Show these images instead (in this order).
        caption: Added to the note under the figure.
        study: The study (name, folder or manifest), to restrict rows to it.
        dpi: Resolution of the PNG.

    Returns:
        dict: ``table``, ``images`` (shown), ``files``.
    """
    records = select_runs(work_dirs, runs, seed, study)
    labels = [f'{r.row}: {r.score} (seed {r.seed})' for r in records]
    infos = [r.info for r in records]
    ann = ann_file or infos[0].get('ann_file')
    sp = split if split is not None else infos[0].get('split')
    img_dir = image_dir or infos[0].get('image_dir')
    if ann is None or sp is None:
        raise ValueError(f'{records[0].proposals} has no {PROPOSALS_INFO_FILE} beside it '
                         '(an `eval_novel --dump-proposals` dump): pass --ann and --split')
    if ann_file is None:
        other = [r.label for r in records if r.info.get('ann_file') not in (None, ann)]
        if other:
            raise ValueError(f'runs {other} were evaluated on another annotation file than '
                             f'{ann}: a gallery compares runs on the same images')
    if img_dir is None:
        raise ValueError('no image folder recorded for these proposals: pass --image-dir '
                         '(image_dir=), the folder of the annotation file\'s images')
    coco = load_coco(ann)
    if sort_by in (None, 'id'):
        key = None
    elif sort_by == 'missed':
        key = labels[0]
    elif sort_by.startswith('missed:') and sort_by[7:].isdigit() and int(sort_by[7:]) < len(labels):
        key = labels[int(sort_by[7:])]
    else:
        raise ValueError(f"sort_by must be 'missed', 'missed:<run index>' or 'id', got {sort_by!r}")
    table, images = gallery_table(dict(zip(labels, (r.proposals for r in records))), coco, sp,
                                  k, iou_thr, key)
    if image_ids:
        unknown = [i for i in image_ids if i not in images]
        if unknown:
            raise ValueError(f'image ids {unknown} are not in {ann}')
        shown = [images[i] for i in image_ids]
    else:
        shown = [images[i] for i in table['image_id'][:num_images]]
    order = ('images in id order' if key is None else
             f'images where {key} misses the most novel objects')
    note = (f'{order}; found = greedy matching of the top-{k} proposals to the novel boxes '
            f'at IoU ≥ {iou_thr:g} (recall at that IoU, as the evaluator counts it)'
            + (f'; {caption}' if caption else ''))
    import matplotlib.pyplot as plt
    fig, files = plot_gallery(shown, labels, img_dir, out, k, iou_thr, note=note, dpi=dpi,
                              title=f'top-{k} proposals per image on novel objects\n'
                                    + ' vs '.join(labels))
    plt.close(fig)
    os.makedirs(osp.dirname(osp.abspath(out)) or '.', exist_ok=True)
    table.to_csv(f'{osp.splitext(out)[0]}.csv', index=False)
    return dict(table=table, images=shown, files=files + [f'{osp.splitext(out)[0]}.csv'])

"""Dense objectness maps (paper fig. 7, appendix B): per FPN level, and side by side.

:func:`objectness_maps` reads every objectness branch of one model on one image;
:func:`compare_objectness_maps` draws fig. 7 as the paper shows it: the same images, one
column per (model, branch), the FPN levels fused into one map at input resolution, with
the ground-truth boxes (base and novel in different colours). :func:`load_detector`
builds a model from a run folder (its dumped config and last checkpoint) through owp's
safe checkpoint loader.
"""
import glob
import json
import os.path as osp
import textwrap
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

__all__ = ['objectness_maps', 'plot_objectness_maps', 'fuse_levels', 'gt_boxes',
           'pick_images', 'load_detector', 'compare_objectness_maps']

#: Ground-truth box colours (Okabe-Ito): novel orange, base sky blue (dashed).
GT_STYLE = {'novel': dict(color='#E69F00', ls='-'), 'base': dict(color='#56B4E9', ls='--')}


def objectness_maps(model, image: Union[str, np.ndarray], cfg) -> dict:
    """Run ``model``'s test pipeline on one image and read its objectness maps.

    Args:
        model: A detector with an :class:`owp.models.OWPFCOSHead` (e.g. from
            ``mmdet.apis.init_detector``), in eval mode.
        image: Image path, or an HxWx3 BGR uint8 array.
        cfg: The model's config (its ``test_dataloader`` pipeline is used).

    Returns:
        dict: ``image`` (h, w, 3) RGB uint8, the network input without padding;
        ``scale_factor`` (w_scale, h_scale) from the original image to ``image``;
        ``strides`` list of L ints; ``maps`` list of L dicts ``{branch: (H_l,
        W_l) float32 probability}``, over the padded input (cell (i, j) is
        centred on pixel (j + 0.5) * stride, (i + 0.5) * stride).
    """
    if isinstance(image, str) and not osp.isfile(image):
        raise FileNotFoundError(f'objectness_maps: image {image} does not exist')
    import torch
    from mmcv.transforms import Compose
    from mmdet.utils import get_test_pipeline_cfg
    head = model.bbox_head
    if not hasattr(head, 'predict_objectness_maps'):
        raise TypeError(f'{type(head).__name__} has no objectness maps: use OWPFCOSHead')
    pipeline_cfg = get_test_pipeline_cfg(cfg)
    if isinstance(image, np.ndarray):
        pipeline_cfg[0].type = 'mmdet.LoadImageFromNDArray'
        data = dict(img=image, img_id=0)
    else:
        data = dict(img_path=image, img_id=0)
    data = Compose(pipeline_cfg)(data)
    batch = dict(inputs=[data['inputs']], data_samples=[data['data_samples']])
    with torch.no_grad():
        batch = model.data_preprocessor(batch, False)
        maps = head.predict_objectness_maps(model.extract_feat(batch['inputs']))
    h, w = data['data_samples'].metainfo['img_shape']
    rgb = data['inputs'].numpy().transpose(1, 2, 0)[:h, :w, ::-1]  # packed BGR -> RGB
    scale = data['data_samples'].metainfo.get('scale_factor', (1.0, 1.0))
    return dict(image=np.ascontiguousarray(rgb), scale_factor=tuple(float(v) for v in scale),
                strides=[int(s) for s in head.strides],
                maps=[{b: m[0].float().cpu().numpy() for b, m in level.items()}
                      for level in maps])


def plot_objectness_maps(result: dict, out_file: str,
                         boxes: Optional[Sequence[Sequence[float]]] = None,
                         title: Optional[str] = None) -> str:
    """Image, then one panel per FPN level, one row per objectness branch.

    Args:
        result: What :func:`objectness_maps` returns.
        out_file: PNG path.
        boxes: Optional xyxy boxes (input-image pixels) drawn on the image.
        title: Figure title.

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    img, maps, strides = result['image'], result['maps'], result['strides']
    branches: List[str] = list(maps[0])
    h, w = img.shape[:2]
    rows, cols = len(branches), len(maps) + 1
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.6 * rows), squeeze=False)
    last = None
    for r, branch in enumerate(branches):
        axes[r, 0].imshow(img)
        for b in boxes or []:
            axes[r, 0].add_patch(Rectangle((b[0], b[1]), b[2] - b[0], b[3] - b[1],
                                           fill=False, lw=1, color='lime'))
        axes[r, 0].set_title('input' if r == 0 else '', fontsize=8)
        axes[r, 0].set_ylabel(branch, fontsize=9)
        for c, (level, s) in enumerate(zip(maps, strides), start=1):
            m = level[branch]
            last = axes[r, c].imshow(m, cmap='magma', vmin=0, vmax=1, interpolation='nearest',
                                     extent=(0, m.shape[1] * s, m.shape[0] * s, 0))
            axes[r, c].set_xlim(0, w)
            axes[r, c].set_ylim(h, 0)
            if r == 0:
                axes[r, c].set_title(f'stride {s}', fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(last, ax=axes.ravel().tolist(), shrink=0.8, label='objectness')
    fig.suptitle(title or 'objectness by FPN level', fontsize=10)
    fig.savefig(out_file, dpi=110)
    plt.close(fig)
    return out_file


def fuse_levels(maps: Sequence[np.ndarray], strides: Sequence[int], size: Sequence[int],
                reduce: Union[str, int] = 'max') -> np.ndarray:
    """FPN-level maps as one map at input resolution.

    Input pixel (y, x) reads cell (y // s_l, x // s_l) of level l (the cell whose
    stride-wide square holds it), then the levels are reduced.

    Args:
        maps: L arrays (H_l, W_l), level l's map over the padded input.
        strides: L strides, one per map.
        size: (h, w) of the input (without padding).
        reduce: 'max' (the highest value any level gives the pixel) or 'mean' over
            levels, or an int: that level alone.

    Returns:
        np.ndarray: (h, w) float32.
    """
    h, w = int(size[0]), int(size[1])
    if len(maps) != len(strides) or not maps:
        raise ValueError(f'fuse_levels: {len(maps)} maps for {len(strides)} strides')
    ys, xs = np.arange(h), np.arange(w)
    up = []
    for m, s in zip(maps, strides):
        m = np.asarray(m, np.float32)
        if m.shape[0] * s < h or m.shape[1] * s < w:
            raise ValueError(f'fuse_levels: a {m.shape} map at stride {s} does not cover '
                             f'a {h}x{w} input')
        up.append(m[(ys // s)[:, None], (xs // s)[None, :]])
    if isinstance(reduce, int) and not isinstance(reduce, bool):
        return up[reduce]
    if reduce == 'max':
        return np.max(up, axis=0)
    if reduce == 'mean':
        return np.mean(up, axis=0)
    raise ValueError(f"fuse_levels: reduce must be 'max', 'mean' or a level index, got {reduce!r}")


def _read_ann(ann_file: str) -> dict:
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file {ann_file} does not exist (for the shapes '
                                'benchmark: `python -m owp.experiments run quickstart` or '
                                'owp.datasets.shapes.generate_shapes writes it)')
    with open(ann_file) as f:
        return json.load(f)


def gt_boxes(ann: Union[str, Mapping], image: str, split='shapes') -> Dict[str, np.ndarray]:
    """Ground-truth boxes of one image, base and novel apart.

    Args:
        ann: A COCO-style annotation file (or its loaded dict).
        image: The image's path or file name (matched on the file name).
        split: What is base and what is novel (see :func:`owp.datasets.resolve_split`).

    Returns:
        dict: ``base`` and ``novel``, (N, 4) float xyxy boxes in original-image
        pixels; boxes of classes in neither are left out; crowd boxes too.

    Raises:
        KeyError: No image of that file name in ``ann``.
    """
    from owp.datasets.splits import resolve_split
    data = _read_ann(ann) if isinstance(ann, str) else ann
    name = osp.basename(image)
    ids = [im['id'] for im in data['images'] if osp.basename(im['file_name']) == name]
    if not ids:
        raise KeyError(f'gt_boxes: no image {name!r} in the annotation file')
    sp = resolve_split(split, data['categories'])
    out = {}
    for subset in ('base', 'novel'):
        cats = set(sp.ids(subset))
        boxes = [a['bbox'] for a in data['annotations'] if a['image_id'] == ids[0]
                 and a['category_id'] in cats and not a.get('iscrowd', 0)]
        b = np.asarray(boxes, np.float32).reshape(-1, 4)
        out[subset] = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
    return out


def pick_images(ann_file: str, image_dir: str, n: int = 2, split='shapes') -> List[str]:
    """``n`` images to show: those with the most novel objects (then most base objects).

    Args:
        ann_file: COCO-style annotation file.
        image_dir: Folder of its images.
        n: How many.
        split: What is base and what is novel.

    Returns:
        list[str]: Image paths, ties broken by image id.

    Raises:
        FileNotFoundError: A picked image is not in ``image_dir``.
    """
    from owp.datasets.splits import resolve_split
    data = _read_ann(ann_file)
    sp = resolve_split(split, data['categories'])
    novel, base = set(sp.novel_ids), set(sp.base_ids)
    count = {im['id']: [0, 0] for im in data['images']}
    for a in data['annotations']:
        if a['image_id'] in count:
            count[a['image_id']][0] += a['category_id'] in novel
            count[a['image_id']][1] += a['category_id'] in base
    names = {im['id']: im['file_name'] for im in data['images']}
    order = sorted(count, key=lambda i: (-count[i][0], -count[i][1], i))[:n]
    paths = [osp.join(image_dir, names[i]) for i in order]
    for p in paths:
        if not osp.isfile(p):
            raise FileNotFoundError(f'image {p} (from {ann_file}) does not exist: is '
                                    f'{image_dir} the folder of that annotation file?')
    return paths


def _last_checkpoint(run_dir: str) -> str:
    pointer = osp.join(run_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            path = f.read().strip()
        if osp.isfile(path):
            return path
        if osp.isfile(osp.join(run_dir, osp.basename(path))):
            return osp.join(run_dir, osp.basename(path))
    ckpts = glob.glob(osp.join(run_dir, '*.pth'))
    if not ckpts:
        raise FileNotFoundError(f'{run_dir}: no checkpoint (*.pth): has this run finished '
                                'training? (`python -m owp.experiments status STUDY`)')
    def it(p):
        stem = osp.splitext(osp.basename(p))[0]
        return int(stem[5:]) if stem.startswith('iter_') and stem[5:].isdigit() else -1
    return max(ckpts, key=lambda p: (it(p), p))


def load_detector(run_or_config: str, checkpoint: Optional[str] = None, device: str = 'cpu',
                  cfg_options: Optional[dict] = None):
    """A model in eval mode, its weights read through owp's safe checkpoint loader.

    Args:
        run_or_config: A run folder (its dumped config, ``<timestamp>/vis_data/config.py``,
            and its last checkpoint are used), a checkpoint inside a run folder (that
            checkpoint with the folder's config, e.g. ``RUN/iter_750.pth``), or a config
            file.
        checkpoint: The checkpoint (default for a run folder: its ``last_checkpoint``,
            else its highest ``iter_*.pth``; required with a config file).
        device: Torch device.
        cfg_options: Config overrides ``{key: value}``.

    Returns:
        torch.nn.Module: From :func:`mmdet.apis.init_detector`; ``model.cfg`` is its
        config. A checkpoint that unpickles anything but tensors and plain data is
        refused (:class:`owp.engine.UntrustedCheckpointError`) unless trusted.
    """
    from mmdet.apis import init_detector
    from mmengine.config import Config

    import owp.registration  # noqa: F401  (registers owp's modules, installs the safe loader)
    from owp.engine import TRUST_CFG_KEY, trusted_checkpoints

    from .curves import _dumped_config
    if osp.isfile(run_or_config) and run_or_config.endswith('.pth') and checkpoint is None:
        run_or_config, checkpoint = osp.dirname(osp.abspath(run_or_config)), run_or_config
    if osp.isdir(run_or_config):
        config = _dumped_config(run_or_config)
        checkpoint = checkpoint or _last_checkpoint(run_or_config)
    elif osp.isfile(run_or_config):
        config = run_or_config
        if checkpoint is None:
            raise ValueError(f'load_detector: {run_or_config} is a config: give its checkpoint')
    else:
        raise FileNotFoundError(f'load_detector: {run_or_config} is neither a run folder nor a '
                                'config file')
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'load_detector: checkpoint {checkpoint} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    with trusted_checkpoints(cfg.get(TRUST_CFG_KEY, False)):  # the config's opt-in, if any
        return init_detector(cfg, checkpoint, device=device)


def compare_objectness_maps(models: Mapping[str, object], images: Sequence[str],
                            ann_file: Optional[str] = None, split='shapes',
                            branches: Optional[Sequence[str]] = None,
                            level: Union[str, int] = 'max', out_file: Optional[str] = None,
                            title: Optional[str] = None, dpi: int = 150):
    """Paper fig. 7: objectness maps of several models on the same images, side by side.

    One row per image: the input with its ground-truth boxes (novel orange, base
    sky blue dashed), then one panel per (model, branch): the branch's probability
    at input resolution (FPN levels fused by :func:`fuse_levels`), with the same boxes.

    Args:
        models: ``{name: model}``, e.g. ``{'FCOS sampling': ..., 'all sampling': ...}``
            (from :func:`load_detector`); each needs an OWP head.
        images: Image paths.
        ann_file: COCO-style annotations of the images, for the boxes (None: no boxes).
        split: What is base and what is novel.
        branches: Branches to draw for every model (a model without one gets a
            panel saying so); default: each model's own branches.
        level: How levels are fused: 'max', 'mean', or one level's index.
        out_file: Path without extension (or .png): PNG and PDF are written.
        title: Figure title.
        dpi: Resolution of the PNG.

    Returns:
        matplotlib.figure.Figure: Left open.

    Raises:
        FileNotFoundError: An image or the annotation file does not exist.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from .style import save_figure
    missing = [p for p in images if not osp.isfile(p)]
    if missing:
        raise FileNotFoundError(f'compare_objectness_maps: image(s) {", ".join(missing)} do '
                                'not exist')
    ann = _read_ann(ann_file) if ann_file else None
    results = {name: [objectness_maps(m, p, m.cfg) for p in images] for name, m in models.items()}
    cols = [(name, b) for name, res in results.items()
            for b in (branches if branches is not None else list(res[0]['maps'][0]))]
    fig, axes = plt.subplots(len(images), len(cols) + 1, layout='constrained', squeeze=False,
                             figsize=(2.4 * (len(cols) + 1) + 1.0, 2.4 * len(images) + 1.1))
    shown = None
    how = 'max over FPN levels' if level == 'max' else \
        'mean over FPN levels' if level == 'mean' else f'FPN level {level}'
    for r, path in enumerate(images):
        first = next(iter(results.values()))[r]
        img, (sx, sy) = first['image'], first['scale_factor']
        h, w = img.shape[:2]
        boxes = gt_boxes(ann, path, split) if ann else {'base': [], 'novel': []}

        def draw_boxes(ax):
            for subset, style in GT_STYLE.items():
                for b in boxes[subset]:
                    ax.add_patch(Rectangle((b[0] * sx, b[1] * sy), (b[2] - b[0]) * sx,
                                           (b[3] - b[1]) * sy, fill=False, lw=1.2, **style))
        axes[r, 0].imshow(img)
        draw_boxes(axes[r, 0])
        axes[r, 0].set_ylabel(osp.basename(path), fontsize=8)
        for c, (name, branch) in enumerate(cols, start=1):
            ax = axes[r, c]
            res = results[name][r]
            if branch not in res['maps'][0]:
                ax.imshow(np.ones((h, w)), cmap='gray', vmin=0, vmax=1)
                ax.text(0.5, 0.5, f'{name} has no\n{branch} branch', ha='center', va='center',
                        transform=ax.transAxes, fontsize=8)
            else:
                fused = fuse_levels([lv[branch] for lv in res['maps']], res['strides'],
                                    (h, w), level)
                shown = ax.imshow(fused, cmap='viridis', vmin=0, vmax=1,
                                  interpolation='nearest')
                draw_boxes(ax)
            if r == 0:
                ax.set_title(f'{textwrap.fill(name, 26)}\n{branch} map', fontsize=8)
        if r == 0:
            axes[r, 0].set_title('input + ground truth', fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [plt.Line2D([], [], lw=1.5, **GT_STYLE['novel']),
               plt.Line2D([], [], lw=1.5, **GT_STYLE['base'])]
    fig.legend(handles, ['novel ground truth', 'base ground truth'],
               loc='outside lower center', ncol=2, fontsize=8, frameon=False)
    if shown is not None:
        fig.colorbar(shown, ax=axes, shrink=0.8, label='objectness (sigmoid probability)')
    fig.suptitle(title or f'Objectness maps ({how}, input resolution)', fontsize=10)
    if out_file is not None:
        save_figure(fig, out_file, dpi=dpi)
    return fig

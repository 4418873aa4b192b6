"""Dense objectness maps of one image, per FPN level (paper fig. 7, appendix B)."""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch

__all__ = ['objectness_maps', 'plot_objectness_maps']


def objectness_maps(model, image: Union[str, np.ndarray], cfg) -> dict:
    """Run ``model``'s test pipeline on one image and read its objectness maps.

    Args:
        model: A detector with an :class:`owp.models.OWPFCOSHead` (e.g. from
            ``mmdet.apis.init_detector``), in eval mode.
        image: Image path, or an HxWx3 BGR uint8 array.
        cfg: The model's config (its ``test_dataloader`` pipeline is used).

    Returns:
        dict: ``image`` (h, w, 3) RGB uint8, the network input without padding;
        ``strides`` list of L ints; ``maps`` list of L dicts ``{branch: (H_l,
        W_l) float32 probability}``, over the padded input (cell (i, j) is
        centred on pixel (j + 0.5) * stride, (i + 0.5) * stride).
    """
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
    return dict(image=np.ascontiguousarray(rgb), strides=[int(s) for s in head.strides],
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

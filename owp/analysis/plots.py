"""Plots researchers look at rather than read: score histograms (paper fig. 5)."""
import warnings
from typing import Dict, Mapping, Optional

import numpy as np

from .style import save_figure

__all__ = ['plot_score_histograms', 'proposal_groups']

#: Okabe-Ito colours (colour-blind safe), as in every owp figure: novel vermillion, base blue.
GROUP_STYLE = (('novel object', '#D55E00'), ('base object', '#0072B2'),
               ('background', '#999999'))


def proposal_groups(dump: Mapping[str, np.ndarray], iou_thr: float = 0.5) -> Dict[str, np.ndarray]:
    """Split proposals by what they hit.

    Args:
        dump: Arrays from :func:`owp.analysis.load_score_dump` (``novel_iou``,
            ``base_iou`` of shape (P,)).
        iou_thr: IoU at which a proposal counts as hitting a box.

    Returns:
        dict: boolean masks (P,) named 'novel object' (IoU >= thr with a novel
        box), 'base object' (with a base box and not a novel one), 'background'.
    """
    novel = dump['novel_iou'] >= iou_thr
    base = (dump['base_iou'] >= iou_thr) & ~novel
    return {'novel object': novel, 'base object': base, 'background': ~(novel | base)}


def plot_score_histograms(dumps: Mapping[str, Mapping[str, np.ndarray]], out_file: str,
                          key: str = 'score', iou_thr: float = 0.5, bins: int = 40,
                          title: Optional[str] = None) -> str:
    """One histogram panel per run: proposal scores by novel / base / background.

    Args:
        dumps: ``{panel title: score dump}``.
        out_file: Image path; a ``.png`` gets a ``.pdf`` beside it.
        key: Which array to histogram ('score', 'cls_prob', 'centerness', 'iou';
            'logits' is the deprecated spelling of 'cls_prob').
        iou_thr: IoU for the novel/base/background split.
        bins: Histogram bins over [0, 1].
        title: Figure title.

    Returns:
        str: ``out_file``.
    """
    if key == 'logits':
        warnings.warn("plot_score_histograms: key='logits' is deprecated and will be removed in "
                      "the next release; use key='cls_prob' (the class probability)",
                      DeprecationWarning, stacklevel=2)
        key = 'cls_prob'
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    n = len(dumps)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    edges = np.linspace(0, 1, bins + 1)
    for ax, (name, dump) in zip(axes.flat, dumps.items()):
        values = dump[key]
        for group, mask in proposal_groups(dump, iou_thr).items():
            color = dict(GROUP_STYLE)[group]
            ax.hist(values[mask], bins=edges, histtype='step', lw=1.6, color=color,
                    label=f'{group} ({mask.sum()})', density=True)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(f'proposal {key} (0-1)')
        ax.set_ylabel('density')
        ax.set_yscale('log')
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis('off')
    fig.suptitle(title or f'proposal {key} by what the proposal hits (IoU >= {iou_thr})',
                 fontsize=10)
    fig.tight_layout()
    if out_file.lower().endswith('.png'):
        save_figure(fig, out_file, dpi=110)  # and a PDF beside it
    else:
        fig.savefig(out_file, dpi=110)
    plt.close(fig)
    return out_file

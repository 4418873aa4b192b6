"""One look for every owp figure: a colour-blind-safe colour per row, PNG + PDF output.

Every analysis figure takes its colours from :func:`row_colors`, called with the rows of
the study in the study's order (``manifest.yaml``), so that a row keeps its colour in every
figure of that study, also in a figure that shows only some of the rows.
"""
import os
import os.path as osp
import re
from typing import Dict, Iterable, List

__all__ = ['PALETTE', 'row_colors', 'row_name', 'save_figure']

#: Okabe & Ito's colour-blind-safe palette (https://jfly.uni-koeln.de/color/), ordered for
#: contrast on white (its yellow is last: hard to see on white), then Paul Tol's "muted"
#: colours that differ most from them. More rows than colours cycle through the list.
PALETTE = ('#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000',
           '#882255', '#999933', '#332288', '#44AA99', '#F0E442')

_SEED = re.compile(r'/seed\d+$')


def row_name(run: str) -> str:
    """The row of a run: ``'fcos'`` for the runner's ``'fcos/seed0'``; else ``run``."""
    return _SEED.sub('', run)


def row_colors(names: Iterable[str]) -> Dict[str, str]:
    """A colour per row, in the order the rows are given.

    Args:
        names: Row names (or run names ``row/seedN``: the seeds of a row share its
            colour), in the study's order. Repeats are ignored.

    Returns:
        dict: ``{name: '#rrggbb'}`` for every name given (runs included); rows take
        :data:`PALETTE`'s colours in order, cycling after its 12 colours.
    """
    names = list(names)
    rows = list(dict.fromkeys(row_name(n) for n in names))
    colors = {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(rows)}
    return {n: colors[row_name(n)] for n in names} | colors


def save_figure(fig, path: str, dpi: int = 150) -> List[str]:
    """Write ``fig`` as ``path.png`` and ``path.pdf`` (making the folder).

    Args:
        fig: A matplotlib figure (left open: a notebook still shows it).
        path: Output path without extension; a ``.png`` or ``.pdf`` ending is dropped.
        dpi: Resolution of the PNG.

    Returns:
        list[str]: The PNG and PDF paths.
    """
    root, ext = osp.splitext(path)
    if ext.lower() in ('.png', '.pdf'):
        path = root
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    out = [f'{path}.png', f'{path}.pdf']
    fig.savefig(out[0], dpi=dpi, bbox_inches='tight')
    fig.savefig(out[1], bbox_inches='tight')
    return out

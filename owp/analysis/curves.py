"""Learning curves from mmengine's ``vis_data/scalars.json``.

mmengine's ``LoggerHook`` appends one JSON object per line to
``WORK_DIR/<timestamp>/vis_data/scalars.json``: a training line every ``interval``
iterations (``lr``, ``loss``, ``loss_*``, ``time``, ``data_time``, ``memory``, ``iter``,
``step``) and a validation line after each validation (the evaluator's metrics,
``time``, ``data_time``, ``step``). In an iteration-based loop the validation line's
``step`` is the iteration only with ``LoggerHook(log_metric_by_epoch=False)``; with the
default (True) every validation is written at step 0, which :func:`read_scalars`
rejects with an error saying so.
"""
import glob
import json
import os.path as osp
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

__all__ = ['find_scalars_files', 'read_scalars', 'gain_over_last', 'plot_curves']

#: Columns of the tidy table :func:`read_scalars` returns.
COLUMNS = ['run', 'kind', 'iteration', 'metric', 'value']
#: Keys of a training line that are not losses and not kept.
_TRAIN_ONLY = ('lr', 'iter', 'memory', 'epoch')
#: Bookkeeping keys of every line, never kept.
_SKIP = ('step', 'time', 'data_time', 'iter', 'epoch', 'memory')


def find_scalars_files(work_dir: str) -> List[str]:
    """The ``scalars.json`` files of one mmengine work dir, oldest first.

    Args:
        work_dir: An mmengine work dir (holding ``<timestamp>/vis_data/scalars.json``,
            one per start of training, so several after a resume), a
            ``<timestamp>`` folder, or a ``scalars.json`` file.

    Returns:
        list[str]: Paths, sorted by their timestamp folder (mmengine names them
        ``YYYYMMDD_HHMMSS``, so sorting by name is sorting by time).

    Raises:
        FileNotFoundError: ``work_dir`` does not exist or holds no ``scalars.json``.
    """
    if osp.isfile(work_dir):
        return [work_dir]
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'{work_dir}: no such work dir or scalars.json')
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    files += sorted(glob.glob(osp.join(work_dir, 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'{work_dir}: no <timestamp>/vis_data/scalars.json (has training started with '
            "mmengine's LocalVisBackend in `visualizer.vis_backends`?)")
    return files


def _run_name(work_dir: str) -> str:
    """``fcos/seed0`` for ``.../fcos/seed0``; else the folder's name."""
    path = osp.normpath(osp.abspath(work_dir))
    if osp.isfile(path):  # .../<run>/<timestamp>/vis_data/scalars.json
        path = osp.dirname(osp.dirname(osp.dirname(path)))
    name = osp.basename(path)
    if name.startswith('seed') and name[4:].isdigit():
        return f'{osp.basename(osp.dirname(path))}/{name}'
    return name


def _parse_file(path: str, run: str) -> List[tuple]:
    """Rows (run, kind, iteration, metric, value) of one scalars.json."""
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}:{n}: not a JSON line ({e.msg})') from None
            if not isinstance(entry, dict) or 'step' not in entry:
                raise ValueError(f"{path}:{n}: expected a JSON object with a 'step' field")
            it = int(entry['step'])
            train = any(k in entry for k in _TRAIN_ONLY)
            for key, value in entry.items():
                if key in _SKIP or not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue
                if train and not key.startswith('loss') and key != 'lr':
                    continue
                if not train and value == -1:  # COCO's "no box in this area range"
                    continue
                rows.append((run, 'train' if train else 'val', it, key, float(value)))
    return rows


def read_scalars(work_dirs: Union[str, Sequence[str], Mapping[str, str]]) -> pd.DataFrame:
    """Validation metrics and training losses of one or several runs, as a tidy table.

    Args:
        work_dirs: A work dir (see :func:`find_scalars_files`), a list of them (each
            run named after its folder, ``row/seedN`` for the runner's
            ``<row>/seed<N>`` folders), or ``{run name: work dir}``.

    Returns:
        pandas.DataFrame: Columns ``run`` (str), ``kind`` ('train' for losses and
        ``lr``, 'val' for validation metrics), ``iteration`` (int), ``metric``
        (the logged key, e.g. ``loss_cls``, ``novel/AR@100``, ``base/AP``) and
        ``value`` (float, as logged: owp's metrics are fractions in [0, 1]; a
        validation value of -1, COCO's "no box in this area range", is left out). One
        row per (run, kind, iteration, metric): where a resumed training logged
        an iteration twice, the later file wins. Sorted by run, kind, metric,
        iteration.

    Raises:
        FileNotFoundError: A work dir without a scalars.json.
        ValueError: A line that is not a JSON object with ``step``; two runs with
            the same name; or validation lines all at step 0 after training
            beyond it (logged with ``log_metric_by_epoch=True``, so the iteration
            is lost).
    """
    if isinstance(work_dirs, str):
        work_dirs = [work_dirs]
    if isinstance(work_dirs, Mapping):
        named = dict(work_dirs)
    else:
        named = {}
        for d in work_dirs:
            name = _run_name(d)
            if name in named:
                raise ValueError(f'two work dirs are both named run {name!r} ({named[name]}, '
                                 f'{d}): pass {{name: work_dir}} to tell them apart')
            named[name] = d
    rows = []
    for run, d in named.items():
        files = find_scalars_files(d)
        run_rows = [r for path in files for r in _parse_file(path, run)]
        val_iters = {r[2] for r in run_rows if r[1] == 'val'}
        train_iters = {r[2] for r in run_rows if r[1] == 'train'}
        if val_iters == {0} and train_iters and max(train_iters) > 0:
            raise ValueError(
                f'{files[-1]}: every validation is logged at step 0: the run used '
                "LoggerHook(log_metric_by_epoch=True) in an iteration-based loop; set "
                'default_hooks.logger.log_metric_by_epoch=False')
        rows += run_rows
    table = pd.DataFrame(rows, columns=COLUMNS)
    table = table.drop_duplicates(subset=['run', 'kind', 'iteration', 'metric'], keep='last')
    table = table.astype({'iteration': int, 'value': float})
    return table.sort_values(['run', 'kind', 'metric', 'iteration'], kind='stable',
                             ignore_index=True)


def gain_over_last(table: pd.DataFrame, frac: float = 0.25) -> pd.DataFrame:
    """What each validation metric gained over the last ``frac`` of the iterations.

    For every run, metric and evaluated iteration ``t``, the value at ``t`` minus
    the value at ``round(t * (1 - frac))`` when that iteration was evaluated too
    (``NaN`` otherwise). With validation every 500 iterations and ``frac=0.25``:
    2000 vs 1500, 4000 vs 3000. Within one run the learning-rate schedule is the
    run's own (e.g. a step at 75% of its full length), not that of a shorter run
    ending at ``t``.

    Args:
        table: From :func:`read_scalars`.
        frac: The fraction of iterations.

    Returns:
        pandas.DataFrame: ``run``, ``metric``, ``iteration``, ``value``, ``from``
        (the earlier iteration) and ``gain`` (same unit as ``value``), rows of
        ``kind == 'val'`` only.
    """
    if not 0 < frac < 1:
        raise ValueError(f'gain_over_last: frac must be in (0, 1), got {frac}')
    val = table[table['kind'] == 'val'][['run', 'metric', 'iteration', 'value']].copy()
    val['from'] = np.round(val['iteration'] * (1 - frac)).astype(int)
    prev = val[['run', 'metric', 'iteration', 'value']].rename(
        columns={'iteration': 'from', 'value': 'value_from'})
    out = val.merge(prev, on=['run', 'metric', 'from'], how='left')
    out['gain'] = out['value'] - out['value_from']
    return out.drop(columns='value_from').reset_index(drop=True)


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average (N,) -> (N,) over ``window`` points, fewer at the ends.

    Centred, so that a smoothed loss does not lag behind its iteration.
    """
    if window <= 1 or len(values) == 0:
        return values
    cum = np.cumsum(np.insert(np.asarray(values, float), 0, 0.0))
    idx = np.arange(len(values))
    lo = np.maximum(idx - window // 2, 0)
    hi = np.minimum(idx - window // 2 + window, len(values))
    return (cum[hi] - cum[lo]) / (hi - lo)


def plot_curves(table: pd.DataFrame, out_file: str, metrics: Optional[Iterable[str]] = None,
                losses: Optional[Iterable[str]] = None, smooth: int = 10,
                title: Optional[str] = None) -> str:
    """Validation metrics and smoothed training losses against iteration, one line per run.

    Args:
        table: From :func:`read_scalars`.
        out_file: Image path (format from its extension, e.g. .png).
        metrics: Validation metrics to plot, one panel each (default: every one
            in ``table``). Metrics in [0, 1] are drawn in percent.
        losses: Training losses to plot, one panel each (default: ``loss`` when
            logged, else every ``loss*`` key).
        smooth: Centred moving-average window over logged loss points (1: raw);
            the logged values are drawn faintly behind.
        title: Figure title.

    Returns:
        str: ``out_file``.

    Raises:
        ValueError: A requested metric or loss that no run logged, or nothing to plot.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    val = table[table['kind'] == 'val']
    train = table[(table['kind'] == 'train') & table['metric'].str.startswith('loss')]
    have_val, have_loss = sorted(val['metric'].unique()), sorted(train['metric'].unique())
    if metrics is None:
        metrics = have_val
    if losses is None:
        losses = ['loss'] if 'loss' in have_loss else have_loss
    metrics, losses = list(metrics), list(losses)
    for name, have, what in ((metrics, have_val, 'validation metric'),
                             (losses, have_loss, 'training loss')):
        missing = [m for m in name if m not in have]
        if missing:
            raise ValueError(f'plot_curves: no run logged {what} {missing[0]!r}; logged: '
                             f'{", ".join(have) or "none"}')
    panels = [('val', m) for m in metrics] + [('train', m) for m in losses]
    if not panels:
        raise ValueError('plot_curves: nothing to plot (no validation metric or loss logged)')
    runs = list(dict.fromkeys(table['run']))
    colors: Dict[str, str] = {r: f'C{i % 10}' for i, r in enumerate(runs)}
    cols = min(len(panels), 3)
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.2 * nrows), squeeze=False)
    for ax, (kind, metric) in zip(axes.flat, panels):
        src = val if kind == 'val' else train
        data = src[src['metric'] == metric]
        percent = kind == 'val' and data['value'].between(0, 1).all()
        for run in runs:
            d = data[data['run'] == run].sort_values('iteration')
            if d.empty:
                continue
            y = d['value'].to_numpy()
            if kind == 'val':
                ax.plot(d['iteration'], y * 100 if percent else y, marker='o', ms=3,
                        color=colors[run], label=run)
            else:
                if smooth > 1:
                    ax.plot(d['iteration'], y, color=colors[run], alpha=0.25, lw=0.8)
                ax.plot(d['iteration'], _smooth(y, smooth), color=colors[run], label=run)
        label = f'{metric} (%)' if percent else metric
        if kind == 'train' and smooth > 1:
            label += f' (faint: as logged; line: mean of {smooth})'
        ax.set_title(label, fontsize=9)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis('off')
    handles = [plt.Line2D([], [], color=colors[r], marker='o', ms=3) for r in runs]
    fig.legend(handles, runs, loc='lower center', ncol=min(len(runs), 4), fontsize=8,
               frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06 if nrows == 1 else 0.04, 1, 1))
    fig.savefig(out_file, dpi=120)
    plt.close(fig)
    return out_file

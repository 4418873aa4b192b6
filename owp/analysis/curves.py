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
import warnings
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from .runs import Source, find_runs, run_state_note
from .style import PALETTE, row_colors, row_name, save_figure

__all__ = ['find_scalars_files', 'read_scalars', 'gain_over_last', 'plot_curves', 'seed_bands',
           'loss_change', 'score_labels',
           'study_scalars', 'run_settings', 'figure6_lines', 'figure6_grid', 'figure6_references',
           'plot_figure6']

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


def seed_bands(table: pd.DataFrame, smooth: int = 1, by_row: bool = True) -> pd.DataFrame:
    """Mean line and min-max band over the seeds of each row, per iteration.

    Runs named ``row/seedN`` (the experiments runner's folders) are the seeds of
    ``row``; any other run is a row by itself. Training values (losses, ``lr``) are
    first smoothed per run (:func:`_smooth`, centred, over ``smooth`` logged
    points); validation values are used as logged.

    Args:
        table: From :func:`read_scalars`.
        smooth: Moving-average window over a run's logged training points (1: raw).
        by_row: False: every run is a row by itself (no band).

    Returns:
        pandas.DataFrame: Columns ``row``, ``kind``, ``metric``, ``iteration``,
        ``mean``, ``min``, ``max`` (over the seeds that logged that iteration) and
        ``n`` (how many did); rows in order of first appearance, iterations ascending.
    """
    cols = ['row', 'kind', 'metric', 'iteration', 'mean', 'min', 'max', 'n']
    parts = []
    for (run, kind, metric), d in table.groupby(['run', 'kind', 'metric'], sort=False):
        d = d.sort_values('iteration')
        values = d['value'].to_numpy(float)
        if kind == 'train':
            values = _smooth(values, smooth)
        parts.append(pd.DataFrame(dict(row=row_name(run) if by_row else run, kind=kind, metric=metric,
                                       iteration=d['iteration'].to_numpy(), value=values)))
    if not parts:
        return pd.DataFrame(columns=cols)
    data = pd.concat(parts, ignore_index=True)
    order = {r: i for i, r in enumerate(dict.fromkeys(data['row']))}
    out = data.groupby(['row', 'kind', 'metric', 'iteration'], sort=False)['value'].agg(
        ['mean', 'min', 'max', 'count']).reset_index().rename(columns={'count': 'n'})
    out['_order'] = out['row'].map(order)
    out = out.sort_values(['_order', 'kind', 'metric', 'iteration'], kind='stable')
    return out.drop(columns='_order').reset_index(drop=True)[cols]


def loss_change(table: pd.DataFrame, smooth: int = 10) -> pd.DataFrame:
    """Where each training loss starts and ends, per row (the paper's sec. 5.1 argument).

    The paper argues from these numbers that IoU is the better objectness target:
    centerness loss 0.636 -> 0.612, IoU loss 0.62 -> 0.5.

    Args:
        table: From :func:`read_scalars`.
        smooth: Centred moving-average window over a run's logged points, before
            the mean over seeds (:func:`seed_bands`).

    Returns:
        pandas.DataFrame: ``row``, ``metric`` (each ``loss*`` key), ``first_iteration``,
        ``first``, ``last_iteration``, ``last``, ``change`` (last - first), ``seeds``.
    """
    bands = seed_bands(table[table['metric'].str.startswith('loss')], smooth)
    bands = bands[bands['kind'] == 'train']
    rows = []
    for (row, metric), d in bands.groupby(['row', 'metric'], sort=False):
        first, last = d.iloc[0], d.iloc[-1]
        rows.append(dict(row=row, metric=metric, first_iteration=int(first['iteration']),
                         first=first['mean'], last_iteration=int(last['iteration']),
                         last=last['mean'], change=last['mean'] - first['mean'],
                         seeds=int(d['n'].max())))
    return pd.DataFrame(rows, columns=['row', 'metric', 'first_iteration', 'first',
                                       'last_iteration', 'last', 'change', 'seeds'])


def study_scalars(source: Source, work_dir: Optional[str] = None) -> pd.DataFrame:
    """:func:`read_scalars` of every run of a study that has logged anything.

    Args:
        source: A study, a study's work dir, a run folder or a list of them (see
            :func:`owp.analysis.find_runs`).
        work_dir: A study's work dir (see :func:`owp.analysis.find_runs`).

    Returns:
        pandas.DataFrame: As :func:`read_scalars`; runs named ``row/seedS``. Runs
        that have not logged yet are left out with a warning naming them.

    Raises:
        FileNotFoundError: No run has a ``scalars.json``: names the runs and where
            they stand.
    """
    runs = find_runs(source, work_dir)
    have, missing = {}, []
    for name, folder in runs.items():
        if glob.glob(osp.join(folder, '*', 'vis_data', 'scalars.json')) or \
                osp.isfile(osp.join(folder, 'vis_data', 'scalars.json')):
            have[name] = folder
        else:
            missing.append(f'{name} ({run_state_note(folder)})')
    if not have:
        raise FileNotFoundError(
            f'no run of {source} has logged scalars (<run>/<timestamp>/vis_data/scalars.json, '
            f"written by mmengine's LocalVisBackend from the first logged iteration on): "
            f'{"; ".join(missing)}. Train them first (`python -m owp.experiments run STUDY`)')
    if missing:
        warnings.warn(f'left out, no scalars.json yet: {"; ".join(missing)}', stacklevel=2)
    return read_scalars(have)


def _style_axes(ax, xlabel='iteration'):
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3)


def plot_curves(table: pd.DataFrame, out_file: Optional[str] = None,
                metrics: Optional[Iterable[str]] = None, losses: Optional[Iterable[str]] = None,
                smooth: int = 10, title: Optional[str] = None,
                rows: Optional[Sequence[str]] = None, labels: Optional[Mapping[str, str]] = None,
                bands: bool = True):
    """Validation metrics and smoothed training losses against iteration, runs side by side.

    Args:
        table: From :func:`read_scalars` (or :func:`study_scalars`).
        out_file: Where to save: a ``.png`` path (a ``.pdf`` beside it too), a path
            without extension (both), or another format matplotlib knows (that one
            only). None: return the figure (a notebook shows it).
        metrics: Validation metrics to plot, one panel each (default: every one
            in ``table``). Metrics in [0, 1] are drawn in percent.
        losses: Training losses to plot, one panel each (default: ``loss`` when
            logged, else every ``loss*`` key).
        smooth: Centred moving-average window over logged loss points (1: raw);
            the logged values of a single-seed row are drawn faintly behind.
        title: Figure title.
        rows: Row order that fixes the colours (:func:`owp.analysis.row_colors`),
            e.g. the study's rows (:func:`owp.analysis.study_rows`); default: as
            they appear in ``table``.
        labels: ``{row: legend label}``, e.g. naming the score mode.
        bands: Draw the seeds of a row (``row/seedN`` runs) as their mean with a
            min-max band; False: one line per run.

    Returns:
        str or matplotlib.figure.Figure: ``out_file``, or the figure when it is None.

    Raises:
        ValueError: A requested metric or loss that no run logged, or nothing to plot.
    """
    import matplotlib
    if out_file is not None:
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
    series = seed_bands(table, smooth, by_row=bands)
    names = list(dict.fromkeys(series['row']))
    if bands and rows:  # the study's order, then any other row
        names = [r for r in dict.fromkeys(rows) if r in names] + \
            [r for r in names if r not in set(rows)]
    if bands:
        colors = row_colors(list(rows or []) + names)
    else:  # seeds of a row are different lines here: a colour per run
        colors = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}
    labels = dict(labels or {})
    cols = min(len(panels), 3)
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.4 * cols, 3.3 * nrows), squeeze=False)
    seeds_of = {}
    for ax, (kind, metric) in zip(axes.flat, panels):
        data = series[(series['kind'] == kind) & (series['metric'] == metric)]
        percent = kind == 'val' and data['min'].between(0, 1).all() and \
            data['max'].between(0, 1).all()
        scale = 100 if percent else 1
        for name in names:
            d = data[data['row'] == name]
            if d.empty:
                continue
            n = int(d['n'].max())
            seeds_of[name] = max(seeds_of.get(name, 0), n)
            marker = dict(marker='o', ms=3) if kind == 'val' else {}
            if kind == 'train' and smooth > 1 and n == 1:
                raw = train[(train['metric'] == metric)
                            & ((train['run'].map(row_name) if bands else train['run']) == name)]
                raw = raw.sort_values('iteration')
                ax.plot(raw['iteration'], raw['value'], color=colors[name], alpha=0.25, lw=0.8)
            ax.plot(d['iteration'], d['mean'] * scale, color=colors[name], **marker)
            if n > 1:
                ax.fill_between(d['iteration'], d['min'] * scale, d['max'] * scale,
                                color=colors[name], alpha=0.2, lw=0)
        if kind == 'val':
            ylabel = f'{metric} (%)' if percent else metric
            ax.set_title(f'validation {metric}', fontsize=9)
        else:
            ylabel = metric
            ax.set_title(f'training {metric}' + (f' (centred mean of {smooth} logged points)'
                                                 if smooth > 1 else ''), fontsize=9)
        ax.set_ylabel(ylabel)
        _style_axes(ax)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis('off')
    handles, texts = [], []
    for name in names:
        n = seeds_of.get(name, 1)
        handles.append(plt.Line2D([], [], color=colors[name], marker='o', ms=3))
        texts.append(labels.get(name, name) + (f' (mean of {n} seeds; band: min-max)'
                                               if n > 1 else ''))
    fig.legend(handles, texts, loc='lower center', ncol=min(len(names), 3), fontsize=8,
               frameon=False)
    if title:
        fig.suptitle(title)
    legend_rows = (len(names) + 2) // 3
    fig.tight_layout(rect=(0, min(0.05 * legend_rows / nrows + 0.02, 0.4), 1, 1))
    if out_file is None:
        return fig
    root, ext = osp.splitext(out_file)
    if ext.lower() in ('', '.png', '.pdf'):
        save_figure(fig, out_file)
    else:
        fig.savefig(out_file, dpi=150, bbox_inches='tight')
    plt.close(fig)
    return out_file


# ------------------------------------------------------------------ figure 6
def _dumped_config(run_dir: str) -> str:
    """The config mmengine dumped for a run's latest training start."""
    found = sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'config.py')))
    if found:
        return found[-1]
    found = sorted(glob.glob(osp.join(run_dir, '*.py')))
    if len(found) == 1:
        return found[0]
    raise FileNotFoundError(
        f'{run_dir}: no dumped config (<timestamp>/vis_data/config.py, which mmengine writes '
        'when training starts): was this run trained with `mim train` / the experiments runner?')


def run_settings(run_dir: str) -> dict:
    """What a run was trained with, read from the config mmengine dumped for it.

    Args:
        run_dir: A run folder (an mmengine work dir).

    Returns:
        dict: ``recipe`` ('joint' when the classifier trains from scratch with the
        rest, 'finetune' when it trains from a ``load_from`` checkpoint, 'untrained'
        or 'agnostic' for the other ``cls_mode``; 'fcos' for a stock FCOS head),
        ``score_mode`` (the validation score), ``unknown_thr`` and ``unknown_start``
        (unknown-object masking threshold and start iteration; None without masking),
        ``load_from``, ``config`` (the dumped file).
    """
    from mmengine.config import Config
    path = _dumped_config(run_dir)
    cfg = Config.fromfile(path, import_custom_modules=False)
    head = cfg.model.get('bbox_head', {})
    cls_mode = head.get('cls_mode', 'joint') if head.get('type') == 'OWPFCOSHead' else None
    load_from = cfg.get('load_from')
    if cls_mode is None:
        recipe = 'fcos'
    elif cls_mode == 'joint':
        recipe = 'finetune' if load_from else 'joint'
    else:
        recipe = 'untrained' if cls_mode == 'frozen' else cls_mode
    masking = head.get('unknown_masking') or None
    return dict(recipe=recipe, score_mode=cfg.model.get('test_cfg', {}).get('score_mode'),
                unknown_thr=masking['thr'] if masking else None,
                unknown_start=int(masking.get('start_iter', 0)) if masking else None,
                load_from=load_from, config=path)


def score_labels(source: Source, work_dir: Optional[str] = None) -> Dict[str, str]:
    """Legend labels naming each row's validation score mode: ``{row: 'row (score mode)'}``.

    Args:
        source: See :func:`owp.analysis.find_runs`.
        work_dir: See :func:`owp.analysis.find_runs`.

    Returns:
        dict: One entry per row whose first run has a dumped config (from
        :func:`run_settings`); the score mode is the config's ``test_cfg.score_mode``.
    """
    labels = {}
    for name, folder in find_runs(source, work_dir).items():
        row = row_name(name)
        if row in labels:
            continue
        try:
            mode = run_settings(folder)['score_mode']
        except FileNotFoundError:
            continue
        labels[row] = f'{row} ({mode})' if mode else row
    return labels


#: The metrics of the paper's figure 6, one panel row each.
FIGURE6_METRICS = ('base/AP', 'novel/AR@100')
_RECIPE_ORDER = {'joint': 0, 'finetune': 1}
_REFERENCE_COLOR = '0.35'
_REFERENCE_STYLES = ('--', '-.', (0, (1, 1)))


def figure6_lines(table: pd.DataFrame, settings: Mapping[str, Mapping],
                  metrics: Sequence[str] = FIGURE6_METRICS) -> pd.DataFrame:
    """The lines of the paper's figure 6: one per (recipe, threshold, start iteration).

    Args:
        table: Validation scalars of the runs, from :func:`read_scalars`.
        settings: ``{run: {'recipe', 'unknown_thr', 'unknown_start'}}`` (from
            :func:`run_settings`). Runs without unknown-object masking
            (``unknown_thr`` None) are left out; runs with the same settings
            (seeds) make one line.
        metrics: Validation metrics, one row of panels each.

    Returns:
        pandas.DataFrame: Columns ``metric``, ``recipe``, ``thr``, ``start``,
        ``iteration``, ``mean``, ``min``, ``max``, ``n`` (runs at that point),
        ``runs`` (their names, comma-separated); values as logged (fractions).

    Raises:
        ValueError: A run of ``table`` without settings, a masked run that logged
            none of ``metrics``, or no masked run at all.
    """
    val = table[(table['kind'] == 'val') & table['metric'].isin(list(metrics))]
    masked = {r: s for r, s in settings.items() if s.get('unknown_thr') is not None}
    if not masked:
        raise ValueError('figure 6: no run uses unknown-object masking '
                         '(model.bbox_head.unknown_masking in its config); runs: '
                         f'{", ".join(settings) or "none"}')
    unknown = sorted(set(table['run']) - set(settings))
    if unknown:
        raise ValueError(f'figure 6: no settings for run(s) {", ".join(unknown)}')
    parts = []
    for run, s in masked.items():
        d = val[val['run'] == run]
        for metric in metrics:
            if d[d['metric'] == metric].empty:
                raise ValueError(
                    f'figure 6: run {run} logged no validation {metric!r} (logged: '
                    f'{", ".join(sorted(d["metric"].unique())) or "nothing"}): validate during '
                    'training (train_cfg.val_interval, a val_evaluator with base_ap for AP, '
                    'default_hooks.logger.log_metric_by_epoch=False)')
        parts.append(d.assign(recipe=s['recipe'], thr=float(s['unknown_thr']),
                              start=int(s['unknown_start'])))
    data = pd.concat(parts, ignore_index=True)
    keys = ['metric', 'recipe', 'thr', 'start', 'iteration']
    out = data.groupby(keys)['value'].agg(['mean', 'min', 'max', 'count']).reset_index()
    out = out.rename(columns={'count': 'n'})
    out['runs'] = data.groupby(keys)['run'].agg(lambda r: ','.join(sorted(r))).to_numpy()
    out['_m'] = out['metric'].map({m: i for i, m in enumerate(metrics)})
    out['_r'] = out['recipe'].map(lambda r: _RECIPE_ORDER.get(r, len(_RECIPE_ORDER)))
    out = out.sort_values(['_m', '_r', 'recipe', 'thr', 'start', 'iteration'], kind='stable')
    return out.drop(columns=['_m', '_r']).reset_index(drop=True)


def figure6_grid(source: Source, work_dir: Optional[str] = None,
                 metrics: Sequence[str] = FIGURE6_METRICS) -> pd.DataFrame:
    """:func:`figure6_lines` of a figure-6-style study, read from its runs.

    Each run's masking threshold, start iteration and recipe come from the config
    mmengine dumped for it (:func:`run_settings`), not from its name.

    Args:
        source: A study (e.g. ``figure6_shapes``), its work dir, or run folders.
        work_dir: A study's work dir (see :func:`owp.analysis.find_runs`).
        metrics: Validation metrics, one row of panels each.

    Returns:
        pandas.DataFrame: As :func:`figure6_lines`.
    """
    runs = find_runs(source, work_dir)
    settings, skipped = {}, []
    for name, folder in runs.items():
        try:
            settings[name] = run_settings(folder)
        except FileNotFoundError:
            skipped.append(f'{name} ({run_state_note(folder)})')
    if skipped:
        warnings.warn(f'figure 6: not started, left out: {"; ".join(skipped)}', stacklevel=2)
    masked = {n: runs[n] for n, s in settings.items() if s['unknown_thr'] is not None}
    if not masked:
        raise ValueError(f'figure 6: no run of {source} uses unknown-object masking '
                         f'(model.bbox_head.unknown_masking); runs: {", ".join(runs)}')
    table = study_scalars(list(masked.values()))
    validated = set(table.loc[table['kind'] == 'val', 'run'])
    # a run still training before its first validation is left out; a finished run
    # without validation is kept, and figure6_lines says how to validate
    pending = [n for n in masked if n not in validated
               and not osp.isfile(osp.join(masked[n], 'metrics.json'))]
    if pending:
        warnings.warn(f'figure 6: no validation logged yet, left out: {", ".join(pending)}',
                      stacklevel=2)
    keep = [n for n in masked if n not in pending]
    if not keep:
        raise FileNotFoundError(f'figure 6: no run of {source} has validated yet: '
                                f'{", ".join(pending)}')
    return figure6_lines(table[table['run'].isin(keep)], {n: settings[n] for n in keep}, metrics)


def _final_metrics(run_dir: str, score_mode: Optional[str]) -> Dict[str, float]:
    """A finished run's test metrics (``metrics.json``) under its config's score mode.

    The score mode the config validates with is preferred (the one the masked runs'
    curves are drawn in); a run evaluated under one score mode only gives that one.
    """
    path = osp.join(run_dir, 'metrics.json')
    with open(path) as f:
        scores = json.load(f).get('scores') or {}
    if score_mode in scores:
        return scores[score_mode]
    if len(scores) == 1:
        return next(iter(scores.values()))
    raise ValueError(f'{path}: no scores under the score mode {score_mode!r} its config '
                     f'validates with (has: {", ".join(scores) or "none"})')


def figure6_references(source: Source, work_dir: Optional[str] = None,
                       metrics: Sequence[str] = FIGURE6_METRICS) -> pd.DataFrame:
    """What figure 6's masking lines are read against: each recipe without masking.

    The finished runs of ``source`` that train a classifier (recipe ``joint`` or
    ``finetune``, :func:`run_settings`) without unknown-object masking, reduced to
    their final test metrics (``metrics.json``, written by the experiments runner)
    over the seeds of each row. In ``figure6_shapes`` these are the ``joint`` and
    ``finetune`` rows; a study with several such rows of one recipe gets one level each.

    Args:
        source: A study, its work dir, or run folders (see :func:`owp.analysis.find_runs`).
        work_dir: A study's work dir (see :func:`owp.analysis.find_runs`).
        metrics: Test metrics, as in :func:`figure6_lines`.

    Returns:
        pandas.DataFrame: Columns ``metric``, ``recipe``, ``row``, ``mean``, ``min``,
        ``max``, ``n`` (runs), ``runs`` (their names, comma-separated); values as
        logged (fractions). Empty (with these columns) when no such run has finished.

    Raises:
        ValueError: A finished reference run whose metrics lack one of ``metrics``.
    """
    rows = []
    for name, folder in find_runs(source, work_dir).items():
        if not osp.isfile(osp.join(folder, 'metrics.json')):
            continue
        try:
            s = run_settings(folder)
        except FileNotFoundError:
            continue
        if s['recipe'] not in _RECIPE_ORDER or s['unknown_thr'] is not None:
            continue
        final = _final_metrics(folder, s['score_mode'])
        for metric in metrics:
            if metric not in final:
                raise ValueError(f'figure 6: {name} has no test {metric!r} in '
                                 f'{osp.join(folder, "metrics.json")} (has: '
                                 f'{", ".join(sorted(final))})')
            rows.append(dict(metric=metric, recipe=s['recipe'], row=row_name(name), run=name,
                             value=float(final[metric])))
    columns = ['metric', 'recipe', 'row', 'mean', 'min', 'max', 'n', 'runs']
    if not rows:
        return pd.DataFrame(columns=columns)
    data = pd.DataFrame(rows)
    keys = ['metric', 'recipe', 'row']
    out = data.groupby(keys, sort=False)['value'].agg(
        ['mean', 'min', 'max', 'count']).reset_index().rename(columns={'count': 'n'})
    out['runs'] = data.groupby(keys, sort=False)['run'].agg(
        lambda r: ','.join(sorted(r))).to_numpy()
    out['_r'] = out['recipe'].map(_RECIPE_ORDER)  # the panels' order: joint, then finetune
    out = out.sort_values(['_r', 'row'], kind='stable').reset_index(drop=True)
    return out[columns]


def plot_figure6(lines: pd.DataFrame, out_file: Optional[str] = None,
                 title: Optional[str] = None, references: Optional[pd.DataFrame] = None):
    """The paper's figure 6: metric against iteration, one line per masking start.

    One row of panels per metric, one panel per (recipe, threshold); in each, one
    line per start iteration (its colour the same in every panel, its seeds as a
    min-max band) and a dotted vertical line where masking starts. With
    ``references``, each row of the panel's recipe without masking is a grey dashed
    level (its final value; its seeds' min-max as a grey band): what masking is read
    against.

    Args:
        lines: From :func:`figure6_lines` / :func:`figure6_grid`.
        out_file: Path without extension (or ``.png``): PNG and PDF are written.
        title: Figure title.
        references: From :func:`figure6_references`; a panel without its recipe's
            reference has no level.

    Returns:
        matplotlib.figure.Figure: Left open (close it with ``plt.close(fig)``).
    """
    import matplotlib.pyplot as plt
    metrics = list(dict.fromkeys(lines['metric']))
    panels = list(dict.fromkeys(zip(lines['recipe'], lines['thr'])))
    starts = sorted(lines['start'].unique())
    colors = row_colors([str(s) for s in starts])
    if references is None:
        references = pd.DataFrame(columns=['metric', 'recipe', 'row'])
    ref_styles = {row: _REFERENCE_STYLES[i % len(_REFERENCE_STYLES)]
                  for i, row in enumerate(dict.fromkeys(references['row']))}
    fig, axes = plt.subplots(len(metrics), len(panels), figsize=(3.6 * len(panels),
                             3.0 * len(metrics) + 0.5), squeeze=False, sharex=True,
                             sharey='row')
    for i, metric in enumerate(metrics):
        for j, (recipe, thr) in enumerate(panels):
            ax = axes[i, j]
            sel = lines[(lines['metric'] == metric) & (lines['recipe'] == recipe)
                        & (lines['thr'] == thr)]
            for start in starts:
                d = sel[sel['start'] == start]
                if d.empty:
                    continue
                n = int(d['n'].max())
                label = f'from iteration {start}' + (f' ({n} seeds)' if n > 1 else '')
                ax.plot(d['iteration'], d['mean'] * 100, marker='o', ms=3,
                        color=colors[str(start)], label=label)
                if n > 1:
                    ax.fill_between(d['iteration'], d['min'] * 100, d['max'] * 100,
                                    color=colors[str(start)], alpha=0.2, lw=0)
                ax.axvline(start, color=colors[str(start)], ls=':', lw=1)
            ref = references[(references['metric'] == metric)
                             & (references['recipe'] == recipe)]
            for _, r in ref.iterrows():
                ax.axhline(r['mean'] * 100, color=_REFERENCE_COLOR, ls=ref_styles[r['row']],
                           lw=1, label=f'{r["row"]} (no masking)')
                if r['n'] > 1:
                    ax.axhspan(r['min'] * 100, r['max'] * 100, color=_REFERENCE_COLOR,
                               alpha=0.12, lw=0)
            ax.set_title(f'{metric}: {recipe}, masking thr {thr:g}', fontsize=9)
            ax.set_ylabel(f'{metric} (%)')
            ax.tick_params(labelleft=True)
            _style_axes(ax, 'iteration' if i == len(metrics) - 1 else '')
    seeds = lines.groupby('start')['n'].max()
    handles = [plt.Line2D([], [], color=colors[str(s)], marker='o', ms=3) for s in starts]
    texts = [f'masking from iteration {s}' + (f' (mean of {seeds[s]} seeds; band: min-max)'
                                              if seeds[s] > 1 else '') for s in starts]
    for row, ls in ref_styles.items():
        n = int(references.loc[references['row'] == row, 'n'].max())
        handles.append(plt.Line2D([], [], color=_REFERENCE_COLOR, ls=ls, lw=1))
        texts.append(f'{row}: no masking, final' + (
            f' (mean of {n} seeds; band: min-max)' if n > 1 else ''))
    fig.legend(handles, texts, loc='lower center', ncol=min(len(texts), 4), fontsize=8,
               frameon=False)
    fig.suptitle(title or 'Unknown-object masking: threshold x start iteration x recipe '
                 '(paper fig. 6); dotted line: where masking starts', fontsize=10)
    fig.tight_layout(rect=(0, 0.07 + 0.03 * ((len(texts) - 1) // 4), 1, 1))
    if out_file is not None:
        save_figure(fig, out_file)
    return fig

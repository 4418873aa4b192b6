"""Recall against the number of proposals (AR-k curves with OLN's AUC) and recall by size.

Reads what the study runner writes and never re-runs a model: per run
``<work_dir>/<row>/seed<S>/metrics.json`` and, where the study kept them
(``dump_proposals``), the evaluated proposals ``eval_<score>/proposals.json`` with
``proposals_info.json`` (annotation file, split, protocol, ``max_per_img``). Curves
are computed from the proposals through owp's evaluator
(:func:`owp.evaluation.evaluate_proposals`), so every point is the number
``eval_novel --results proposals.json --max-dets <the curve's k list>`` prints. A run
without a dump falls back to the AR@k its ``metrics.json`` holds (the study's
``curve_k``), and the figure says so.
"""
import json
import os
import os.path as osp
import re
import warnings
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from ..evaluation.functional.constants import AUC_MAX_DETS
from ..experiments.runner import PROPOSALS_FILE, PROPOSALS_INFO_FILE, _score_tag
from .style import row_colors, save_figure

__all__ = ['CURVE_K', 'SIZE_NAMES', 'RunRecord', 'auc_of_curve', 'recall_runs', 'load_coco',
           'plot_recall_by_size', 'plot_recall_curves', 'recall_by_size', 'recall_curve',
           'recall_curves', 'recall_tables']

#: Default k of the curves: 1 to 1500, OLN's AUC points (1 ... 1000) included.
CURVE_K = (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 1500)
#: COCO's size ranges (``AREA_RANGES``) as the figures name them.
SIZE_NAMES = {'s': 'small (< 32²)', 'm': 'medium (32²–96²)', 'l': 'large (> 96²)'}
_SEED_DIR = re.compile(r'^seed(\d+)$')
_LINESTYLES = ('-', '--', ':', '-.')


@dataclass
class RunRecord:
    """One (row, seed, score mode) of a study, as found on disk."""
    row: str
    seed: int
    score: str
    run_dir: str
    protocol: str
    metrics: Dict[str, float]              # metrics.json's values for this score (fractions)
    proposals: Optional[str] = None        # the dump, where the run kept one
    info: Dict = field(default_factory=dict)  # proposals_info.json (empty without one)
    order: int = 0                         # position of the score in metrics.json

    @property
    def label(self) -> str:
        """``'row: score'``, as legends name a line."""
        return f'{self.row}: {self.score}'


def _run_dirs(path: str) -> List[str]:
    """Run folders (``<row>/seed<S>``) at or under ``path`` (a run or a study work dir)."""
    if _SEED_DIR.match(osp.basename(osp.normpath(path))):
        return [path]
    out = []
    for row in sorted(os.listdir(path)):
        folder = osp.join(path, row)
        if osp.isdir(folder):
            out += [osp.join(folder, d) for d in sorted(os.listdir(folder),
                                                        key=lambda d: (len(d), d))
                    if _SEED_DIR.match(d) and osp.isdir(osp.join(folder, d))]
    return out


def recall_runs(work_dirs: Union[str, Sequence[str]], study=None,
                rows: Optional[Sequence[str]] = None) -> List[RunRecord]:
    """Every finished run (``metrics.json``) under the given work dirs, one record per score.

    Args:
        work_dirs: Study work dirs (holding ``<row>/seed<S>/``) or run dirs
            (``.../<row>/seed<S>``), one or several; or a study folder
            (``experiments/<name>``, holding ``manifest.yaml``): its committed
            ``results/``, else the runner's default ``work_dirs/experiments/<name>``.
        study: A :class:`owp.experiments.Study` (or its name, folder or manifest):
            rows are taken in its order, rows it does not have are left out.
        rows: Only these rows.

    Returns:
        list[RunRecord]: rows in study order (else by name), then seed, then score mode.

    Raises:
        FileNotFoundError: a work dir that does not exist.
        ValueError: no finished run, naming the folders that hold unfinished ones and
            the command that finishes them.
    """
    study = _as_study(study)
    paths = [work_dirs] if isinstance(work_dirs, (str, os.PathLike)) else list(work_dirs)
    records, unfinished = [], []
    for i, path in enumerate(map(os.fspath, paths)):
        if osp.isfile(osp.join(path, 'manifest.yaml')):  # a study folder
            study = study or _as_study(path)
            paths[i] = path = _study_work_dir(path, study.name)
        if not osp.isdir(path):
            raise FileNotFoundError(f'work dir {path} does not exist (a study work dir holds '
                                    '<row>/seed<S>/ folders; the runner writes them: '
                                    '`python -m owp.experiments run STUDY --work-dir DIR`)')
        for run_dir in _run_dirs(path):
            mfile = osp.join(run_dir, 'metrics.json')
            if not osp.isfile(mfile):
                unfinished.append(run_dir)
                continue
            try:
                with open(mfile) as f:
                    m = json.load(f)
                m['scores'].items()
            except (json.JSONDecodeError, KeyError, AttributeError, TypeError) as e:
                raise ValueError(f'{mfile}: not a run\'s metrics file ({type(e).__name__}: '
                                 f'{e}); the runner writes it with `python -m owp.experiments '
                                 'run` or `evaluate`') from None
            row = m.get('row') or osp.basename(osp.dirname(run_dir))
            for i, (score, values) in enumerate(m['scores'].items()):
                eval_dir = osp.join(run_dir, f'eval_{_score_tag(score)}')
                dump = osp.join(eval_dir, PROPOSALS_FILE)
                info = {}
                if osp.isfile(osp.join(eval_dir, PROPOSALS_INFO_FILE)):
                    with open(osp.join(eval_dir, PROPOSALS_INFO_FILE)) as f:
                        info = json.load(f)
                records.append(RunRecord(
                    row=row, seed=int(m.get('seed', _SEED_DIR.match(
                        osp.basename(run_dir)).group(1))), score=score, run_dir=run_dir,
                    protocol=m.get('protocol', 'remove'), metrics=values,
                    proposals=dump if osp.isfile(dump) else None, info=info, order=i))
    order = [r.name for r in study.rows] if study is not None else sorted({r.row for r in records})
    if rows:
        order = [r for r in order if r in rows]
    records = [r for r in records if r.row in order]
    if not records:
        where = ', '.join(map(os.fspath, paths))
        what = (f'; unfinished runs (no metrics.json): {", ".join(unfinished[:5])}'
                if unfinished else '')
        raise ValueError(f'no finished run under {where}{what}. A run is finished when '
                         '<row>/seed<S>/metrics.json exists: `python -m owp.experiments status '
                         'STUDY --work-dir DIR` shows where each run stands, `python -m '
                         'owp.experiments run STUDY --work-dir DIR` finishes them'
                         + (f' (rows asked for: {", ".join(rows)})' if rows else ''))
    rank = {name: i for i, name in enumerate(order)}
    return sorted(records, key=lambda r: (rank[r.row], r.seed, r.order))


def _study_work_dir(folder: str, name: str) -> str:
    """Where a study folder's runs are: its ``results/``, else ``work_dirs/experiments/<name>``."""
    for cand in (osp.join(folder, 'results'), osp.join('work_dirs', 'experiments', name)):
        if osp.isdir(cand):
            return cand
    raise FileNotFoundError(
        f'{folder} is a study folder, but neither {osp.join(folder, "results")} (committed run '
        f'files) nor work_dirs/experiments/{name} (the runner\'s default work dir) exists: '
        'pass the work dir its runs were written to (`--work-dir` of `python -m '
        'owp.experiments run`)')


def _as_study(study):
    if study is None or not isinstance(study, (str, os.PathLike)):
        return study
    from ..experiments.manifest import load_study
    return load_study(os.fspath(study))


def load_coco(ann_file: str) -> dict:
    """An annotation file as a dict (FileNotFoundError naming it)."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file {ann_file} does not exist (the file the '
                                'proposals were evaluated against; pass --ann / ann_file=)')
    with open(ann_file) as f:
        return json.load(f)


def recall_curve(coco: Mapping, proposals: str, split, ks: Sequence[int] = CURVE_K,
                 protocol: str = 'remove', subset: str = 'novel') -> Dict[str, float]:
    """AR at every k of ``ks`` from a proposals file, through owp's evaluator.

    One :func:`~owp.evaluation.evaluate_proposals` call with ``max_dets=ks``: each
    value equals ``eval_novel --results proposals --max-dets ks`` (under ``'remove'``
    also ``--max-dets k`` alone; under ``'ignore'`` OLN's AR@k depends on the largest k).

    Args:
        coco: The annotation dict the proposals were evaluated against.
        proposals: COCO results JSON (``eval_novel --dump-proposals``, the runner's dump).
        split: Split name, file or dict.
        ks: The k of the curve.
        protocol: 'remove' | 'ignore' | 'prefilter'.
        subset: 'novel' | 'base' | 'all'.

    Returns:
        dict: ``{k: AR}`` (fractions) plus ``'AUC'`` (OLN's, measured AR@1) when
        ``max(ks) >= 1000``, and ``'ARs'``, ``'ARm'``, ``'ARl'`` at ``max(ks)``
        (-1 where no box of that size exists).
    """
    from ..evaluation.functional.protocols import evaluate_proposals
    ks = sorted({int(k) for k in ks})
    with warnings.catch_warnings():  # k beyond the proposals: AR@k = AR@most, as evaluated
        warnings.simplefilter('ignore', UserWarning)
        res = evaluate_proposals(coco, proposals, split, (subset, ), protocol, ks)
    out: Dict = {k: res[f'{subset}/AR@{k}'] for k in ks}
    for name in ('s', 'm', 'l'):
        out[f'AR{name}'] = res[f'{subset}/AR{name}@{ks[-1]}']
    if f'{subset}/AUC' in res:
        out['AUC'] = res[f'{subset}/AUC']
    return out


def auc_of_curve(curve: Mapping[int, float]) -> Optional[float]:
    """OLN's AUC (:func:`~owp.evaluation.functional.oln_auc`) of a curve, None without its k.

    Args:
        curve: ``{k: AR}`` holding every k of ``AUC_MAX_DETS`` (1 ... 1000).
    """
    from ..evaluation.functional.auc import oln_auc
    if not all(k in curve for k in AUC_MAX_DETS):
        return None
    return oln_auc({k: curve[k] for k in AUC_MAX_DETS})


def recall_by_size(coco: Mapping, proposals: str, split, k: int = 100,
                   protocol: str = 'remove', subset: str = 'novel') -> Dict[str, float]:
    """AR@k of small, medium and large boxes (``eval_novel --max-dets k``'s ARs/ARm/ARl).

    Returns:
        dict: ``{'s': AR, 'm': AR, 'l': AR}``, -1 where no box of that size exists.
    """
    res = recall_curve(coco, proposals, split, [k], protocol, subset)
    return {name: res[f'AR{name}'] for name in ('s', 'm', 'l')}


def _context(record: RunRecord, ann_file: Optional[str], split, max_per_img: Optional[int]):
    """Annotation file, split and proposals kept per image of a run's dump."""
    ann = ann_file or record.info.get('ann_file')
    sp = split if split is not None else record.info.get('split')
    if ann is None or sp is None:
        raise ValueError(
            f'{record.proposals} has no {PROPOSALS_INFO_FILE} beside it (a dump made by '
            '`eval_novel --dump-proposals`, not by the study runner): say what it was '
            'evaluated against with --ann ANN.json --split SPLIT (ann_file=, split=)')
    kept = max_per_img or record.info.get('max_per_img')
    return ann, sp, kept


def recall_tables(records: Sequence[RunRecord], ks: Sequence[int] = CURVE_K,
                  subset: str = 'novel', size_k: int = 100, ann_file: Optional[str] = None,
                  split=None, max_per_img: Optional[int] = None,
                  require_dumps: bool = False) -> Tuple[pd.DataFrame, pd.DataFrame]:
    """Curve points and size recall of every run, from its dump or its metrics.json.

    Args:
        records: From :func:`recall_runs`.
        ks: The curve's k. Per run, the k above the proposals it kept per image
            (``max_per_img`` of its evaluation) are left out: they were not measured.
        subset: Recall targets ('novel', 'base', 'all').
        size_k: The k of the size bars.
        ann_file, split, max_per_img: For dumps without ``proposals_info.json``
            (made by ``eval_novel --dump-proposals``); override the info file.
        require_dumps: Raise instead of falling back to metrics.json.

    Returns:
        tuple: ``curves`` (columns row, score, seed, label, k, AR, source) and ``sizes``
        (row, score, seed, label, size, k, AR, source); AR in percent, NaN where no box
        of that size exists; ``source`` is 'proposals' or 'metrics.json'.

    Raises:
        ValueError: a run without a dump when ``require_dumps``, or a dump whose
            annotation file and split are unknown; both say how to produce them.
    """
    cache: Dict[str, dict] = {}
    curve_rows, size_rows = [], []
    for r in records:
        base = dict(row=r.row, score=r.score, seed=r.seed, label=r.label)
        if r.proposals is None:
            if require_dumps:
                raise ValueError(_no_dump_message(r))
            for key, v in r.metrics.items():
                m = re.fullmatch(rf'{subset}/AR@(\d+)', key)
                if m and v >= 0:
                    curve_rows.append(dict(base, k=int(m.group(1)), AR=100 * v,
                                           source='metrics.json'))
            kmax = max((int(re.fullmatch(rf'{subset}/AR[sml]@(\d+)', key).group(1))
                        for key in r.metrics if re.fullmatch(rf'{subset}/AR[sml]@\d+', key)),
                       default=None)
            if kmax == size_k:
                for name in ('s', 'm', 'l'):
                    v = r.metrics.get(f'{subset}/AR{name}@{kmax}', -1)
                    size_rows.append(dict(base, size=name, k=kmax,
                                          AR=100 * v if v >= 0 else np.nan,
                                          source='metrics.json'))
            continue
        ann, sp, kept = _context(r, ann_file, split, max_per_img)
        if ann not in cache:
            cache[ann] = load_coco(ann)
        coco = cache[ann]
        run_ks = [k for k in ks if kept is None or k <= kept]
        res = recall_curve(coco, r.proposals, sp, run_ks, r.protocol, subset)
        for k in run_ks:
            curve_rows.append(dict(base, k=k, AR=100 * res[k], source='proposals'))
        if kept is None or size_k <= kept:
            for name, v in recall_by_size(coco, r.proposals, sp, size_k, r.protocol,
                                          subset).items():
                size_rows.append(dict(base, size=name, k=size_k, AR=100 * v if v >= 0 else np.nan,
                                      source='proposals'))
    cols = ['row', 'score', 'seed', 'label', 'k', 'AR', 'source']
    return (pd.DataFrame(curve_rows, columns=cols),
            pd.DataFrame(size_rows, columns=cols[:4] + ['size'] + cols[4:]))


def _no_dump_message(r: RunRecord) -> str:
    tag = _score_tag(r.score)
    return (f'{r.run_dir}: no proposals dump for score {r.score!r} '
            f'(eval_{tag}/{PROPOSALS_FILE}). Produce it by evaluating the run again with '
            '`dump_proposals: true` in the study manifest: `python -m owp.experiments '
            f'evaluate STUDY --row {r.row} --seed {r.seed} --work-dir WORK_DIR`, or with '
            f'`scripts/eval_novel.sh CONFIG {r.run_dir}/iter_N.pth --cfg-options '
            f"model.test_cfg.score_mode='{r.score}' --dump-proposals "
            f'{r.run_dir}/eval_{tag}/{PROPOSALS_FILE}` (then pass --ann and --split)')


def _summary(df: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Mean, min, max and n over seeds."""
    g = df.groupby(list(by), sort=False)['AR']
    return pd.DataFrame({'mean': g.mean(), 'min': g.min(), 'max': g.max(),
                         'n': g.count()}).reset_index()


def _styles(records_or_df, rows_order: Optional[Sequence[str]] = None):
    """Colour per row (study order), line style per score mode within the row."""
    pairs = list(dict.fromkeys(zip(records_or_df['row'], records_or_df['score'])))
    rows = list(dict.fromkeys(rows_order or [p[0] for p in pairs]))
    colors = row_colors(rows + [p[0] for p in pairs if p[0] not in rows])
    styles, per_row = {}, {}
    for row, score in pairs:
        i = per_row.setdefault(row, 0)
        styles[(row, score)] = (colors[row], _LINESTYLES[i % len(_LINESTYLES)])
        per_row[row] = i + 1
    return styles


def plot_recall_curves(curves: pd.DataFrame, out: str, title: Optional[str] = None,
                       subset: str = 'novel', paper: Optional[Mapping[str, Mapping[int, float]]]
                       = None, rows_order: Optional[Sequence[str]] = None,
                       note: Optional[str] = None):
    """AR against k (log axis): seeds' mean as a line, min-max as a band, AUC in the legend.

    Args:
        curves: From :func:`recall_tables` (AR in percent).
        out: Output path without extension (PNG and PDF are written).
        title: Figure title.
        subset: Named on the y axis.
        paper: Published points ``{row: {k: AR %}}`` drawn as stars in the row's colour.
        rows_order: Rows in the study's order (colours).
        note: Text under the axes (e.g. which runs came from metrics.json).

    Returns:
        tuple: ``(figure, [png, pdf])``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    styles = _styles(curves, rows_order)
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    summary = _summary(curves, ['row', 'score', 'label', 'source', 'k'])
    for (row, score), (color, ls) in styles.items():
        s = summary[(summary.row == row) & (summary.score == score)].sort_values('k')
        if s.empty:
            continue
        seeds = curves[(curves.row == row) & (curves.score == score)]
        n = seeds['seed'].nunique()
        aucs = [auc_of_curve(dict(zip(g.k, g.AR / 100)))
                for _, g in seeds.groupby('seed')]
        aucs = [100 * a for a in aucs if a is not None]
        if aucs and len(aucs) == n:
            auc = f'AUC {np.mean(aucs):.1f}' + (f' ± {np.std(aucs, ddof=1):.1f}' if n > 1 else '')
        else:
            auc = 'AUC n/a'
        from_metrics = (s.source == 'metrics.json').all()
        label = (f'{row}: {score} ({auc}; {n} seed{"s" if n > 1 else ""}'
                 + (', metrics.json' if from_metrics else '') + ')')
        ax.plot(s.k, s['mean'], ls, color=color, lw=1.8, marker='o' if from_metrics else None,
                ms=3, label=label)
        if n > 1:
            ax.fill_between(s.k, s['min'], s['max'], color=color, alpha=0.18, lw=0)
    for row, points in (paper or {}).items():
        color = next((c for (r, _), (c, _) in styles.items() if r == row), 'k')
        ks = sorted(points)
        ax.plot(ks, [points[k] for k in ks], '*', color=color, ms=11, mec='k', mew=0.6,
                label=f'{row}: published')
    ax.set_xscale('log')
    ax.set_xlabel('proposals per image, k (log scale)')
    ax.set_ylabel(f'{subset} AR@k (%)')
    ax.set_ylim(bottom=0)
    ax.grid(True, which='major', alpha=0.3)
    ax.set_title(title or f'{subset} recall against the number of proposals', fontsize=10)
    ax.legend(fontsize=7, loc='best', frameon=False)
    if note:
        fig.text(0.01, -0.01, note, fontsize=7, va='top', wrap=True)
    fig.tight_layout()
    return fig, save_figure(fig, out)


def plot_recall_by_size(sizes: pd.DataFrame, out: str, title: Optional[str] = None,
                        subset: str = 'novel', rows_order: Optional[Sequence[str]] = None,
                        note: Optional[str] = None):
    """Grouped bars: AR@k of small / medium / large boxes per run, min-max over seeds.

    Sizes with no box of that size in any run are left out (said in the note).

    Returns:
        tuple: ``(figure, [png, pdf])``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    styles = _styles(sizes, rows_order)
    summary = _summary(sizes.dropna(subset=['AR']), ['row', 'score', 'size', 'k'])
    present = [s for s in ('s', 'm', 'l') if s in set(summary['size'])]
    absent = [SIZE_NAMES[s].split()[0] for s in ('s', 'm', 'l') if s not in present]
    fig, ax = plt.subplots(figsize=(8.4, 3.8))
    width = 0.8 / max(len(styles), 1)
    for i, ((row, score), (color, ls)) in enumerate(styles.items()):
        s = summary[(summary.row == row) & (summary.score == score)].set_index('size')
        xs, ys, lo, hi = [], [], [], []
        for j, name in enumerate(present):
            if name in s.index:
                xs.append(j - 0.4 + (i + 0.5) * width)
                ys.append(s.loc[name, 'mean'])
                lo.append(s.loc[name, 'mean'] - s.loc[name, 'min'])
                hi.append(s.loc[name, 'max'] - s.loc[name, 'mean'])
        n = int(s['n'].max()) if len(s) else 0
        ax.bar(xs, ys, width, color=color, alpha=0.9 if ls == '-' else 0.55,
               hatch=None if ls == '-' else '//', edgecolor='k', lw=0.4,
               yerr=[lo, hi] if n > 1 else None, capsize=2,
               label=f'{row}: {score} ({n} seed{"s" if n > 1 else ""})')
    ks = sorted(set(summary['k']))
    ax.set_xticks(range(len(present)), [SIZE_NAMES[s] for s in present])
    ax.set_xlabel('ground-truth box area (px²)')
    ax.set_ylabel(f'{subset} AR@{",".join(map(str, ks))} (%)')
    ax.set_title(title or f'{subset} recall by object size', fontsize=10)
    ax.grid(True, axis='y', alpha=0.3)
    ax.legend(fontsize=7, frameon=False, loc='upper left', bbox_to_anchor=(1.01, 1))
    notes = [note] if note else []
    if absent:
        notes.append(f'no {" or ".join(absent)} {subset} box in the evaluated images')
    if notes:
        fig.text(0.01, -0.01, '; '.join(notes), fontsize=7, va='top', wrap=True)
    fig.tight_layout()
    return fig, save_figure(fig, out)


def recall_curves(work_dirs: Union[str, Sequence[str]], out_dir: str, study=None,
                  rows: Optional[Iterable[str]] = None, ks: Sequence[int] = CURVE_K,
                  subset: str = 'novel', size_k: int = 100, ann_file: Optional[str] = None,
                  split=None, max_per_img: Optional[int] = None, caption: str = '',
                  require_dumps: bool = False) -> Dict[str, object]:
    """Both figures and their tables for the runs of a study (what the script does).

    Args:
        work_dirs: Study work dir(s) or run dir(s), see :func:`recall_runs`.
        out_dir: Where ``recall_curves.{png,pdf,csv}`` and ``recall_by_size.*`` go.
        study: The study (name, folder or manifest): row order and its rows'
            published ``paper`` values of ``{subset}/AR@k``.
        caption: Appended to the figures' notes (e.g. where the runs come from).
        Others: see :func:`recall_tables`.

    Returns:
        dict: ``curves``, ``sizes`` (tables), ``files`` (paths written), ``note``.
    """
    study = _as_study(study)
    records = recall_runs(work_dirs, study, list(rows) if rows else None)
    curves, sizes = recall_tables(records, ks, subset, size_k, ann_file, split, max_per_img,
                                  require_dumps)
    order = [r.name for r in study.rows] if study is not None else None
    fallback = sorted({r.label for r in records if r.proposals is None})
    notes = []
    if fallback:
        notes.append(f'no proposals dump for {", ".join(fallback)}: their points are the AR@k '
                     'of metrics.json (the study\'s curve_k)')
    protocols = '/'.join(sorted({r.protocol for r in records}))
    if caption:
        notes.append(caption)
    note = '; '.join([f'protocol {protocols}; each point = eval_novel at that k'] + notes)
    size_note = '; '.join([f'protocol {protocols}; = eval_novel --max-dets {size_k}\'s '
                           'ARs/ARm/ARl'] + notes)
    paper = {}
    if study is not None:
        for row in study.rows:
            pts = {int(m.group(1)): v for key, v in row.paper.items()
                   if (m := re.fullmatch(rf'{subset}/AR@(\d+)', key))}
            if pts and row.name in set(curves['row']):
                paper[row.name] = pts
    name = study.title if study is not None else ', '.join(map(str, np.atleast_1d(work_dirs)))
    os.makedirs(out_dir, exist_ok=True)
    files = []
    import matplotlib.pyplot as plt
    fig, paths = plot_recall_curves(
        curves, osp.join(out_dir, 'recall_curves'), subset=subset, paper=paper,
        rows_order=order, note=note,
        title=f'{name}\n{subset} recall against proposals per image')
    plt.close(fig)
    files += paths
    if not sizes.empty:
        fig, paths = plot_recall_by_size(
            sizes, osp.join(out_dir, 'recall_by_size'), subset=subset, rows_order=order,
            note=size_note,
            title=f'{name}\n{subset} AR@{size_k} by object size')
        plt.close(fig)
        files += paths
    for table, fname in ((curves, 'recall_curves.csv'), (sizes, 'recall_by_size.csv')):
        table.to_csv(osp.join(out_dir, fname), index=False)
        files.append(osp.join(out_dir, fname))
    return dict(curves=curves, sizes=sizes, files=files, note=note, records=records)

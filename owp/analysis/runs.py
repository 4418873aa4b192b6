"""Where a study's runs are, and which of them hold what an analysis reads.

Every analysis takes a *source*: a study (its name under ``experiments/``, its folder or
its ``manifest.yaml``), a study's work dir (``<row>/seed<S>/`` run folders, as
``python -m owp.experiments run`` writes them), one run folder (an mmengine work dir), or a
list of run folders. :func:`find_runs` resolves it to named run folders; the ``find_*``
functions below pick the files one analysis needs and say, when none are there, what is
missing and which command writes it.
"""
import glob
import json
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Union

__all__ = ['find_runs', 'find_score_dumps', 'run_state_note', 'study_rows']

Source = Union[str, Sequence[str]]
_SEED_DIR = re.compile(r'^seed(\d+)$')


def _is_run(path: str) -> bool:
    """Whether ``path`` looks like one run: metrics, logs, evaluations or checkpoints."""
    return (osp.isfile(osp.join(path, 'metrics.json'))
            or bool(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
            or bool(glob.glob(osp.join(path, 'eval_*')))
            or bool(glob.glob(osp.join(path, '*.pth'))))


def _seed_runs(folder: str, row: str) -> Dict[str, str]:
    """``{row/seedS: path}`` of ``folder``'s ``seed<S>`` subfolders, by seed."""
    if not osp.isdir(folder):
        return {}
    seeds = sorted(int(m.group(1)) for m in map(_SEED_DIR.match, os.listdir(folder))
                   if m and osp.isdir(osp.join(folder, m.group(0))))
    return {f'{row}/seed{s}': osp.join(folder, f'seed{s}') for s in seeds}


def _load_study(source: str):
    """The :class:`owp.experiments.manifest.Study` that ``source`` names, or None."""
    from owp.experiments.manifest import find_study, load_study
    if osp.isfile(source) and source.endswith(('.yaml', '.yml')):
        return load_study(source)
    if osp.isdir(source):
        return load_study(source) if osp.isfile(osp.join(source, 'manifest.yaml')) else None
    if osp.isfile(source):
        raise FileNotFoundError(f'{source} is a file: give a study, a work dir or a run folder')
    if os.sep in source or not re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9_.-]*', source):
        raise FileNotFoundError(f'{source}: no such study, work dir or run folder')
    return load_study(find_study(source))  # a study name: ManifestError lists the studies


def study_rows(source: str) -> Optional[List[str]]:
    """The row names of the study ``source`` names, in its manifest's order (None if not a study).

    Use it for :func:`owp.analysis.row_colors`, so that a row keeps its colour in every
    figure of the study.
    """
    try:
        study = _load_study(source) if isinstance(source, str) else None
    except FileNotFoundError:
        return None
    return [r.name for r in study.rows] if study else None


def find_runs(source: Source, work_dir: Optional[str] = None) -> Dict[str, str]:
    """Run folders of a study, a study's work dir, one run, or a list of runs.

    Args:
        source: A study (name under ``experiments/``, folder or manifest); a folder
            holding ``<row>/seed<S>/`` run folders (or, without that layout, run
            folders directly); one run folder; or a list of run folders.
        work_dir: For a study, where its runs were written (the runner's
            ``--work-dir``); default ``work_dirs/experiments/<study>`` of the
            repository the study is in (the runner's default from the repository root).

    Returns:
        dict: ``{run name: folder}``: names ``row/seedS`` for the runner's layout, else
        the folder's name; a study's runs in its manifest's row order, seeds ascending.

    Raises:
        FileNotFoundError: Nothing there, saying what was expected and how to make it.
        owp.experiments.manifest.ManifestError: ``source`` names no study.
    """
    if not isinstance(source, str):
        runs = {}
        for path in source:
            for name, folder in find_runs(path).items():
                if name in runs:
                    raise ValueError(f'two runs are both named {name!r} ({runs[name]}, '
                                     f'{folder}): give their parent folders instead')
                runs[name] = folder
        if not runs:
            raise FileNotFoundError('find_runs: an empty list of run folders')
        return runs
    study = _load_study(source)
    if study is not None:
        repo = osp.dirname(osp.dirname(study.folder))
        work_dir = work_dir or osp.join(repo, 'work_dirs', 'experiments', study.name)
        if not osp.isdir(work_dir):
            raise FileNotFoundError(
                f'study {study.name!r}: its work dir {work_dir} does not exist: run '
                f'`python -m owp.experiments run {study.name}` from {repo}, or pass '
                'work_dir= (the --work-dir it was run with)')
        runs = {}
        for row in study.rows:
            runs.update(_seed_runs(osp.join(work_dir, row.name), row.name))
        if not runs:
            raise FileNotFoundError(
                f'study {study.name!r}: no <row>/seed<S>/ run folder in {work_dir} (rows: '
                f'{", ".join(r.name for r in study.rows)}): run `python -m owp.experiments run '
                f'{study.name}`')
        return runs
    folder = osp.normpath(source)
    name = osp.basename(folder)
    if _SEED_DIR.match(name) and _is_run(folder):
        return {f'{osp.basename(osp.dirname(folder))}/{name}': folder}
    runs = {}
    for row in sorted(os.listdir(folder)):
        runs.update(_seed_runs(osp.join(folder, row), row))
    if runs:
        return runs
    if _is_run(folder):
        return {name: folder}
    runs = {d: osp.join(folder, d) for d in sorted(os.listdir(folder))
            if osp.isdir(osp.join(folder, d)) and _is_run(osp.join(folder, d))}
    if not runs:
        raise FileNotFoundError(
            f'{folder}: no run folder (<row>/seed<S>/ as `python -m owp.experiments run` '
            'writes, or an mmengine work dir with logs, checkpoints or metrics.json)')
    return runs


def run_state_note(folder: str) -> str:
    """A few words on where a run stands, from its files: for error messages."""
    if osp.isfile(osp.join(folder, 'metrics.json')):
        return 'finished'
    try:
        with open(osp.join(folder, 'state.json')) as f:
            state = json.load(f)
    except (OSError, ValueError):
        state = {}
    if state.get('state') == 'failed':
        return f"failed: {state.get('error', 'see train.log')}"
    if state.get('state') == 'running':
        return f"{state.get('phase', 'training')} (or interrupted)"
    return 'not finished (no metrics.json)'


def _score_modes() -> Dict[str, str]:
    """``{folder tag: score mode}``: the runner writes ``logits*iou`` as ``eval_logitsxiou``."""
    from owp.experiments.manifest import SCORE_MODES
    return {m.replace('*', 'x').replace('(', '').replace(')', ''): m for m in SCORE_MODES}


def find_score_dumps(source: Source, work_dir: Optional[str] = None) -> Dict[str, str]:
    """The per-proposal score dumps of a study's runs (paper fig. 5's input).

    The experiments runner writes one per run and score mode as
    ``<run>/eval_<score>/scores.npz`` when the study's manifest says
    ``score_dump: true`` (the quickstart's does).

    Args:
        source: See :func:`find_runs`.
        work_dir: See :func:`find_runs`.

    Returns:
        dict: ``{'<run>: <score mode>': path}``, runs in :func:`find_runs`' order.

    Raises:
        FileNotFoundError: No run holds a dump; the message names the runs, where they
            stand, and how to write dumps for runs that are already trained.
    """
    runs = find_runs(source, work_dir)
    dumps = {}
    for name, folder in runs.items():
        for path in sorted(glob.glob(osp.join(folder, 'eval_*', 'scores.npz'))):
            tag = osp.basename(osp.dirname(path))[len('eval_'):]
            dumps[f'{name}: {_score_modes().get(tag, tag)}'] = path
    if not dumps:
        where = '; '.join(f'{n} ({run_state_note(f)})' for n, f in runs.items())
        study = source if isinstance(source, str) else 'STUDY'
        raise FileNotFoundError(
            f'no score dump (<run>/eval_<score>/scores.npz) in any run of {study}: {where}. '
            "Set `score_dump: true` in the study's manifest.yaml, then for each trained run "
            '`python -m owp.experiments evaluate STUDY --row ROW --seed S` (new runs write it '
            'themselves); or add OWPScoreDump to a test_evaluator with '
            'model.test_cfg.with_score_components=True')
    return dumps

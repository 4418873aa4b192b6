"""Train, evaluate and tabulate a study, one run per (row, seed), resumably.

A run lives in ``WORK_DIR/<row>/seed<S>/``, which is also its mmengine work
dir (logs, checkpoints, the dumped config). The runner adds:

- ``plan.json``: config and ``--cfg-options`` the run was started with (a later
  invocation with other settings is refused instead of mixing them);
- ``state.json``: ``running`` (pid, host), ``failed`` (the log's last error
  line) or ``trained``, with the wall time of every training attempt;
- ``train.log``: everything ``mim train`` printed;
- ``metrics.json``: the run's metrics per score mode plus provenance. Its
  existence is what "done" means: a done run is never retrained.

A study whose manifest names ``reuse_from`` studies takes a run's training from
a finished run of theirs when it is the same training (:func:`find_reusable`):
the final checkpoint is hard-linked (copied across file systems), the training
logs are copied, and the run is evaluated under this study's own protocol.
``state.json`` and ``metrics.json`` record ``reused_from``.

Training is ``mim train mmdet CONFIG --work-dir RUN --cfg-options ...`` exactly
as a user would type it (``--launcher``, ``--gpus``, ``--partition`` ... are
passed to mim, whose launchers are MMEngine's); an interrupted run continues
with ``--resume <its last checkpoint>``. Evaluation runs OWPRecallMetric on the
final checkpoint under the study's protocol and k, once per score mode.
"""
import filecmp
import json
import os
import os.path as osp
import platform
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from .manifest import ManifestError, Study, find_study, load_study, order_rows

__all__ = ['PROPOSALS_FILE', 'PROPOSALS_INFO_FILE', 'Launch', 'RunSpec', 'RunState',
           'evaluate_run', 'find_reusable', 'format_option', 'last_error_line', 'plan_runs',
           'provenance', 'reuse_run', 'reuse_sources', 'run_state', 'run_study', 'study_status',
           'tabulate', 'train_command', 'training_options']


@dataclass
class Launch:
    """How to start a training: mim's launcher options, passed through as given."""
    launcher: str = 'none'          # none | pytorch | slurm
    gpus: Optional[int] = None
    gpus_per_node: Optional[int] = None
    cpus_per_task: Optional[int] = None
    partition: Optional[str] = None
    srun_args: Optional[str] = None
    port: Optional[int] = None

    def mim_args(self) -> List[str]:
        """The ``mim train`` options for this launch."""
        args = []
        if self.launcher != 'none':
            args += ['--launcher', self.launcher]
        for opt, v in (('--gpus', self.gpus), ('--gpus-per-node', self.gpus_per_node),
                       ('--cpus-per-task', self.cpus_per_task), ('--partition', self.partition),
                       ('--srun-args', self.srun_args), ('--port', self.port)):
            if v is not None:
                args += [opt, str(v)]
        return args


@dataclass
class RunSpec:
    """One (row, seed) of a study, resolved."""
    row: str
    seed: int
    config: str
    run_dir: str
    options: Dict[str, Any]          # --cfg-options, load_from excluded
    final_checkpoint: str
    load_from_row: Optional[str] = None
    load_from: Optional[str] = None  # the dependency's final checkpoint
    depends_on: Optional['RunSpec'] = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return f'{self.row}/seed{self.seed}'


@dataclass
class RunState:
    """What :func:`run_state` found: done | running | failed | interrupted | trained | waiting."""
    state: str
    detail: str = ''


def format_option(value: Any) -> str:
    """A Python value as mmengine's ``DictAction`` parses it back (``[1,2]``, ``True``, ``None``)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (list, tuple)):
        inner = ','.join(format_option(v) for v in value)
        return f'[{inner}]' if isinstance(value, list) else f'({inner}{"," if len(value) == 1 else ""})'
    return str(value)


def _options_words(options: Dict[str, Any]) -> List[str]:
    return [f'{k}={format_option(v)}' for k, v in options.items()]


def _final_checkpoint(cfg, run_dir: str) -> str:
    loop = cfg.get('train_cfg', {})
    if loop.get('type', 'IterBasedTrainLoop') == 'EpochBasedTrainLoop' or 'max_epochs' in loop:
        return osp.join(run_dir, f"epoch_{loop['max_epochs']}.pth")
    return osp.join(run_dir, f"iter_{loop['max_iters']}.pth")


def plan_runs(study: Study, work_dir: str, seeds: Optional[Sequence[int]] = None,
              rows: Optional[Sequence[str]] = None,
              cfg_options: Optional[Dict[str, Any]] = None) -> List[RunSpec]:
    """Every run to do, seed by seed, each row after the row it loads from.

    Args:
        study: A loaded study.
        work_dir: The study's work dir.
        seeds: Seeds (default: the manifest's).
        rows: Row names to run; rows they load from are added.
        cfg_options: Extra ``--cfg-options`` for every run (after the manifest's).

    Returns:
        list[RunSpec]

    Raises:
        ManifestError: an unknown row in ``rows`` (naming the manifest), or a
            config that does not load or whose options do not apply.
    """
    from mmengine.config import Config

    from owp.utils import data_root_cfg_options
    names = [r.name for r in study.rows]
    if rows:
        unknown = [r for r in rows if r not in names]
        if unknown:
            raise ManifestError(f'{study.manifest}: --rows: unknown row {unknown[0]!r}; '
                                f'rows of {study.name}: {", ".join(names)}')
        wanted = set(rows)
        changed = True
        while changed:  # add what the chosen rows load from
            changed = False
            for r in study.rows:
                if r.name in wanted and r.load_from and r.load_from not in wanted:
                    wanted.add(r.load_from)
                    changed = True
    else:
        wanted = set(names)
    seeds = list(study.seeds if seeds is None else seeds)
    work_dir = osp.abspath(work_dir)
    specs: List[RunSpec] = []
    loaded = {}
    for seed in seeds:
        by_row: Dict[str, RunSpec] = {}
        for row in order_rows(study.rows, study.manifest):
            if row.name not in wanted:
                continue
            run_dir = osp.join(work_dir, row.name, f'seed{seed}')
            if row.name not in loaded:
                try:
                    cfg = Config.fromfile(row.config)
                except Exception as e:  # a config that does not parse or inherit
                    raise ManifestError(f'{study.manifest}:{row.line}: row {row.name!r}: '
                                        f'config {row.config} does not load: {e}') from None
                options: Dict[str, Any] = {}
                if study.data_root:
                    for word in data_root_cfg_options(cfg, study.data_root):
                        k, v = word.split('=', 1)
                        options[k] = v
                options.update(study.cfg_options)
                options.update(row.overrides)
                options.update(cfg_options or {})
                try:
                    cfg.merge_from_dict(dict(options))
                except Exception as e:
                    raise ManifestError(f'{study.manifest}:{row.line}: row {row.name!r}: '
                                        f'overrides do not apply to {row.config}: {e}') from None
                loaded[row.name] = (cfg, options)
            cfg, options = loaded[row.name]
            opts = dict(options)
            opts['randomness.seed'] = seed
            spec = RunSpec(row=row.name, seed=seed, config=row.config, run_dir=run_dir,
                           options=opts, final_checkpoint=_final_checkpoint(cfg, run_dir),
                           load_from_row=row.load_from)
            if row.load_from:
                dep = by_row[row.load_from]
                spec.depends_on = dep
                spec.load_from = dep.final_checkpoint
            by_row[row.name] = spec
            specs.append(spec)
    return specs


def _mim() -> str:
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    return mim if osp.isfile(mim) else 'mim'


def train_command(spec: RunSpec, launch: Launch, resume_from: Optional[str] = None) -> List[str]:
    """``mim train mmdet CONFIG --work-dir RUN [launcher options] [--resume CKPT] --cfg-options ...``."""
    options = dict(spec.options)
    if spec.load_from and not resume_from:
        options['load_from'] = spec.load_from
    cmd = [_mim(), 'train', 'mmdet', spec.config, '--work-dir', spec.run_dir, '--yes',
           *launch.mim_args()]
    if resume_from:
        cmd += ['--resume', resume_from]
    return cmd + ['--cfg-options', *_options_words(options)]


def eval_command(study: Study, spec: RunSpec, launch: Launch, work_dir: str,
                 cfg_options: Optional[Dict[str, Any]] = None) -> List[str]:
    """The evaluation as a command (run in-process unless the launcher is slurm)."""
    cmd = [sys.executable, '-m', 'owp.experiments', 'evaluate', study.manifest,
           '--row', spec.row, '--seed', str(spec.seed), '--work-dir', work_dir]
    if cfg_options:
        cmd += ['--cfg-options', *_options_words(cfg_options)]
    if launch.launcher == 'slurm':
        srun = ['srun', '--ntasks=1', '--job-name', f'eval-{spec.row}-{spec.seed}']
        if launch.partition:
            srun += ['-p', launch.partition]
        if launch.gpus:
            srun += ['--gres=gpu:1']
        if launch.srun_args:
            srun += shlex.split(launch.srun_args)
        cmd = srun + cmd
    return cmd


def _read_json(path: str) -> Optional[dict]:
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def _write_json(path: str, data: dict) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)  # atomic: a kill never leaves half a file


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def last_error_line(log_file: str) -> str:
    """The line of a log that says why a run failed (the exception line of a traceback)."""
    if not osp.isfile(log_file):
        return f'no log at {log_file}'
    with open(log_file, errors='replace') as f:
        lines = [ln.rstrip() for ln in f if ln.strip()]
    pattern = re.compile(r'^\s*([\w.]+(Error|Exception|Interrupt)|error)\b.*')
    for ln in reversed(lines):
        if pattern.match(ln):
            return ln.strip()
    return lines[-1].strip() if lines else f'{log_file} is empty'


def _last_checkpoint(run_dir: str) -> Optional[str]:
    """mmengine's ``last_checkpoint`` pointer, if it names a file that exists."""
    pointer = osp.join(run_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        path = f.read().strip()
    path = path if osp.isabs(path) else osp.join(run_dir, path)
    return path if osp.isfile(path) else None


#: ``--cfg-options`` roots that only change the final evaluation (which every study does
#: itself), never training: runs that differ only in these are the same training.
EVAL_ONLY_OPTIONS = ('test_dataloader', 'test_evaluator', 'test_cfg')


def training_options(options: Dict[str, Any]) -> Dict[str, Any]:
    """``options`` without the evaluation-only ones, as stored in ``plan.json`` (JSON types)."""
    return json.loads(json.dumps({k: v for k, v in options.items()
                                  if k.split('.', 1)[0] not in EVAL_ONLY_OPTIONS}))


def _same_file(a: Optional[str], b: Optional[str]) -> bool:
    """Both None, or two files with the same bytes (a hard link is the cheap case)."""
    if a is None or b is None:
        return a == b
    if not (osp.isfile(a) and osp.isfile(b)):
        return False
    return osp.samefile(a, b) or filecmp.cmp(a, b, shallow=False)


def reuse_sources(study: Study, work_dir: str) -> List[str]:
    """The work dirs of ``study.reuse_from``: beside ``work_dir``, one per named study.

    A named study must sit beside this one (``experiments/<name>``) and train on
    the same data (``data_root`` and ``shapes``); otherwise nothing of it is
    reused and the log says why.
    """
    out = []
    for name in study.reuse_from:
        try:
            src = load_study(find_study(name, osp.dirname(study.folder)))
        except ManifestError as e:
            raise ManifestError(f'{study.manifest}: reuse_from: {e}') from None
        if (src.data_root, src.shapes) != (study.data_root, study.shapes):
            _log(f'reuse_from {name}: not reused, it trains on other data (data_root '
                 f'{src.data_root!r}, shapes {src.shapes} against {study.data_root!r}, '
                 f'{study.shapes})')
            continue
        folder = osp.join(osp.dirname(osp.abspath(work_dir)), name)
        if not osp.isdir(folder):
            _log(f'reuse_from {name}: no runs at {folder} (reuse looks beside this study\'s '
                 'work dir)')
        out.append(folder)
    return out


#: Config keys that say where and how a run was launched, not what it trains (the
#: runner's ``load_from`` is compared by the checkpoint's bytes instead).
_LAUNCH_KEYS = ('work_dir', 'load_from', 'resume', 'launcher')


def training_config(cfg) -> dict:
    """A merged config as plain data, without launch and evaluation-only keys.

    Two runs with equal ``training_config`` (seed included, in ``randomness``)
    train the same model: what ``load_from`` holds is compared separately.
    """
    d = {k: v for k, v in cfg.to_dict().items()
         if k not in _LAUNCH_KEYS and k not in EVAL_ONLY_OPTIONS}
    return json.loads(json.dumps(d, default=repr))


def _option_value(command: Sequence[str], option: str) -> Optional[str]:
    """The value after ``option`` in a command's words (None if absent)."""
    words = list(command)
    return words[words.index(option) + 1] if option in words[:-1] else None


def find_reusable(spec: RunSpec, sources: Sequence[str],
                  launch: Optional[Launch] = None) -> Optional[str]:
    """The run dir of a finished run in ``sources`` with the same training as ``spec``, or None.

    The same training: the same ``--cfg-options`` apart from :data:`EVAL_ONLY_OPTIONS`
    (seed included); the same merged config now as the one that run dumped when
    it trained (so an edited config or ``_base_`` is not the same training); the
    runner's ``load_from`` checkpoints with the same bytes; and the same number of
    GPUs (mim's ``--gpus``: the batch size across them). A row whose own config or
    overrides set ``load_from`` is never reused: what that file held when the
    other run trained is not recorded.
    """
    from mmengine.config import Config
    want_options = training_options(spec.options)
    if 'load_from' in spec.options:
        return None
    gpus = (launch or Launch()).gpus
    want = None
    for src in sources:
        rows = sorted(os.listdir(src)) if osp.isdir(src) else []
        for row in rows:
            run = osp.join(src, row, f'seed{spec.seed}')
            plan = _read_json(osp.join(run, 'plan.json'))
            state = _read_json(osp.join(run, 'state.json')) or {}
            final = osp.join(run, osp.basename(spec.final_checkpoint))
            dumped = osp.join(run, osp.basename(plan.get('config', ''))) if plan else ''
            attempts = state.get('train_attempts') or [{}]
            src_gpus = _option_value(attempts[0].get('command', []), '--gpus')
            if (plan is None or not osp.isfile(osp.join(run, 'metrics.json'))
                    or not osp.isfile(final) or not osp.isfile(dumped)
                    or training_options(plan.get('options', {})) != want_options
                    or src_gpus != (None if gpus is None else str(gpus))
                    or not _same_file(plan.get('load_from'), spec.load_from)):
                continue
            if want is None:
                cfg = Config.fromfile(spec.config)
                cfg.merge_from_dict(dict(spec.options))
                if cfg.get('load_from'):  # set by the config file itself
                    return None
                want = training_config(cfg)
            try:
                have = training_config(Config.fromfile(dumped))
            except Exception as e:  # a dumped config that no longer parses: not this one
                _log(f'{spec.key}: not reusing {run}: its config {dumped} does not load ({e})')
                continue
            if have == want:
                return run
    return None


def _link_or_copy(src: str, dst: str) -> None:
    """``dst`` becomes ``src``'s bytes atomically: a hard link, or a copy across file systems."""
    tmp = f'{dst}.{os.getpid()}.tmp'
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copy2(src, tmp)
    os.replace(tmp, dst)  # a kill mid-copy leaves no truncated checkpoint under dst's name


def reuse_run(spec: RunSpec, source: str, state: dict) -> None:
    """Give ``spec`` the training of ``source``: its final checkpoint and its logs.

    The checkpoint is hard-linked (copied where links fail), so it survives the
    source's deletion at no extra disk; mmengine's log folders, the dumped config
    and ``train.log`` are copied; ``state`` takes the source's training attempts,
    ``reused_from`` and the commit that trained it. A part-trained run of
    ``spec`` (an interrupted training) is cleared first: its checkpoints and log
    folders, so that its curves are not spliced with the source's; its attempts
    are kept as ``abandoned_attempts``.
    """
    os.makedirs(spec.run_dir, exist_ok=True)
    stamp = re.compile(r'\d{8}_\d{6}')
    for name in os.listdir(spec.run_dir):  # a part-trained run of our own
        path = osp.join(spec.run_dir, name)
        if re.fullmatch(r'(iter|epoch)_\d+\.pth', name) or name == 'last_checkpoint':
            os.remove(path)
        elif stamp.fullmatch(name) and osp.isdir(path):
            shutil.rmtree(path)
    if state.get('train_attempts'):
        state['abandoned_attempts'] = state.pop('train_attempts')
    src_plan = _read_json(osp.join(source, 'plan.json')) or {}
    src_metrics = _read_json(osp.join(source, 'metrics.json')) or {}
    state['reused_from'] = source
    state['trained_at_commit'] = src_metrics.get('provenance', {}).get('git_commit')
    _write_json(osp.join(spec.run_dir, 'state.json'), state)
    for name in os.listdir(source):  # mmengine's <timestamp>/ (scalars for loss curves)
        path, dest = osp.join(source, name), osp.join(spec.run_dir, name)
        if stamp.fullmatch(name) and osp.isdir(path):
            shutil.copytree(path, dest, dirs_exist_ok=True)
    dumped = osp.join(source, osp.basename(src_plan.get('config', spec.config)))
    if osp.isfile(dumped):  # the merged config, under this run's config name
        shutil.copy2(dumped, osp.join(spec.run_dir, osp.basename(spec.config)))
    with open(osp.join(spec.run_dir, 'train.log'), 'a') as out:
        out.write(f'\n# owp.experiments: the training of {source} (same config, options '
                  'and seed), reused\n')
        log = osp.join(source, 'train.log')
        if osp.isfile(log):
            with open(log, errors='replace') as f:
                shutil.copyfileobj(f, out)
    src_state = _read_json(osp.join(source, 'state.json')) or {}
    state['train_attempts'] = src_state.get('train_attempts', [])
    _link_or_copy(osp.join(source, osp.basename(spec.final_checkpoint)), spec.final_checkpoint)


def _claim(run_dir: str) -> Optional[int]:
    """An exclusive ``flock`` on ``run_dir/.lock`` (its fd), or None while another runner holds it.

    ``state.json`` says who runs a run, but reading it and writing it are two steps:
    two runners started together (one per slot, sharing a study) could both read
    "waiting" and train the same run into the same folder. The lock makes taking a
    run atomic; the kernel drops it when its process dies, so no stale lock outlives
    a killed runner.
    """
    import fcntl
    fd = os.open(osp.join(run_dir, '.lock'), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def run_state(spec: RunSpec) -> RunState:
    """Where a run stands, from its files alone (no process is asked)."""
    if osp.isfile(osp.join(spec.run_dir, 'metrics.json')):
        return RunState('done')
    st = _read_json(osp.join(spec.run_dir, 'state.json')) or {}
    ckpt = _last_checkpoint(spec.run_dir)
    where = f'from {osp.basename(ckpt)}' if ckpt else 'from the start'
    if st.get('state') == 'running':
        same_host = st.get('host') == socket.gethostname()
        if not same_host or _alive(int(st.get('pid', -1))):
            return RunState('running', f"pid {st.get('pid')} on {st.get('host')}, "
                                       f"{st.get('phase', 'training')}")
    if st.get('state') == 'failed':
        return RunState('failed', st.get('error', ''))
    if osp.isfile(spec.final_checkpoint):
        return RunState('trained', 'evaluation pending')
    if st.get('state') == 'running':
        return RunState('interrupted', f'runner gone; resumes {where}')
    if spec.depends_on is not None:
        dep = run_state(spec.depends_on)
        if dep.state != 'done':
            return RunState('waiting', f'for {spec.depends_on.key} ({dep.state})')
    if ckpt:
        return RunState('interrupted', f'resumes {where}')
    return RunState('waiting')


def provenance(spec: RunSpec, repo: Optional[str] = None) -> dict:
    """What produced a run: config text, seed, git commit, versions, machine."""
    import mmcv
    import mmdet
    import mmengine
    import torch

    import owp
    repo = repo or osp.dirname(osp.dirname(osp.abspath(owp.__file__)))

    def git(*args):
        try:
            return subprocess.run(['git', '-C', repo, *args], capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ''

    cpu = platform.processor()
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            names = [ln.split(':', 1)[1].strip() for ln in f if ln.startswith('model name')]
        cpu = names[0] if names else cpu
    with open(spec.config) as f:
        config_text = f.read()
    dumped = osp.join(spec.run_dir, osp.basename(spec.config))
    merged = None
    if osp.isfile(dumped):
        with open(dumped) as f:
            merged = f.read()
    train_gpus = []
    log = osp.join(spec.run_dir, 'train.log')
    if osp.isfile(log):  # mmengine's environment block: "GPU 0,1: NVIDIA A100-SXM4-80GB"
        with open(log, errors='replace') as f:
            train_gpus = sorted({m.group(1) for m in (re.match(r'^\s*GPU [\d,]+: (.+)$', ln)
                                                      for ln in f) if m})
    return dict(
        config=spec.config, config_text=config_text, merged_config=merged,
        cfg_options=spec.options, load_from=spec.load_from, seed=spec.seed,
        git_commit=git('rev-parse', 'HEAD'), git_dirty=bool(git('status', '--porcelain')),
        versions=dict(python=platform.python_version(), torch=torch.__version__,
                      mmdet=mmdet.__version__, mmcv=mmcv.__version__,
                      mmengine=mmengine.__version__, owp=getattr(owp, '__version__', '')),
        machine=dict(host=socket.gethostname(), platform=platform.platform(), cpu=cpu,
                     cpu_count=os.cpu_count(),
                     gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                     train_gpus=train_gpus))


#: The evaluated proposals of a score mode (``dump_proposals``), in ``<run>/eval_<tag>/``,
#: and what they were evaluated against (annotation file, split, protocol, max_per_img).
PROPOSALS_FILE = 'proposals.json'
PROPOSALS_INFO_FILE = 'proposals_info.json'


def _score_tag(score: str) -> str:
    return score.replace('*', 'x').replace('(', '').replace(')', '')


def evaluate_run(study: Study, spec: RunSpec) -> Dict[str, Dict[str, float]]:
    """Evaluate a run's final checkpoint under the study's protocol, once per score mode.

    Returns:
        dict: ``{score mode: {metric key: fraction}}`` (OWPRecallMetric's keys).
    """
    from mmengine.config import Config
    from mmengine.runner import Runner

    import owp.registration  # noqa: F401  registers owp's modules, installs the safe loader
    from owp.utils import proposal_test_cfg
    row = study.row(spec.row)
    out = {}
    for score in row.scores:
        cfg = Config.fromfile(spec.config)
        cfg.merge_from_dict(dict(spec.options))
        ev = cfg.test_evaluator
        ev = ev[0] if isinstance(ev, (list, tuple)) else ev
        eval_dir = osp.join(spec.run_dir, f'eval_{_score_tag(score)}')
        metric = dict(type='OWPRecallMetric', ann_file=ev.ann_file, split=ev.split,
                      subsets=list(study.subsets), protocol=study.protocol,
                      max_dets=list(study.eval_k),
                      # class-aware AP only where the score is: objectness alone is one label
                      base_ap=ev.get('base_ap', False) if score.startswith('logits') else False)
        # test_cfg, or test_cfg.rcnn / .rpn of two-stage and RPN models (OLN)
        final_cfg, _ = proposal_test_cfg(cfg.model)
        if study.dump_proposals:  # the proposals evaluated, for recall curves and galleries
            metric['dump_proposals'] = osp.join(eval_dir, PROPOSALS_FILE)
            final_cfg.with_score_components = True
        cfg.test_evaluator = [metric]
        if study.score_dump:
            cfg.test_evaluator.append(dict(type='OWPScoreDump', ann_file=ev.ann_file,
                                           out_file=osp.join(eval_dir, 'scores.npz')))
            final_cfg.with_score_components = True
        final_cfg.score_mode = score
        final_cfg.max_per_img = max(study.max_dets)
        cfg.load_from = spec.final_checkpoint
        cfg.resume = False
        cfg.work_dir = eval_dir
        cfg.log_level = 'WARNING'
        cfg.experiment_name = f'{spec.row}-seed{spec.seed}-{_score_tag(score)}-{time.time():.0f}'
        runner = Runner.from_cfg(cfg)
        metrics = runner.test()
        if study.dump_proposals:  # what the dump was evaluated against, for the analyses
            ds = cfg.test_dataloader.dataset
            image_dir = osp.join(ds.get('data_root') or '', (ds.get('data_prefix') or {}).get(
                'img', '')) if 'ann_file' in ds else None  # None: a wrapped dataset
            _write_json(osp.join(eval_dir, PROPOSALS_INFO_FILE), dict(
                score_mode=score, ann_file=osp.abspath(ev.ann_file),
                image_dir=image_dir and osp.abspath(image_dir),
                split=ev.split if isinstance(ev.split, str) else dict(ev.split),
                protocol=study.protocol, subsets=list(study.subsets),
                max_dets=list(study.eval_k), max_per_img=final_cfg.max_per_img))
        out[score] = {k: float(v) for k, v in metrics.items() if not k.startswith('score_dump')}
    return out


def _log(msg: str) -> None:
    print(f'[owp.experiments] {msg}', flush=True)


def _train(spec: RunSpec, launch: Launch, state: dict) -> None:
    """Run (or resume) ``mim train``; raise RuntimeError with the log's error line on failure."""
    resume = _last_checkpoint(spec.run_dir)
    cmd = train_command(spec, launch, resume)
    _log(f'{spec.key}: ' + (f'resuming from {osp.basename(resume)}' if resume else 'training')
         + f' ({osp.relpath(spec.config)})')
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    t0 = time.time()
    state.setdefault('train_attempts', []).append(dict(started=t0, command=cmd,
                                                       resumed_from=resume))
    _write_json(osp.join(spec.run_dir, 'state.json'), state)
    with open(osp.join(spec.run_dir, 'train.log'), 'a') as logf:
        logf.write(f'\n# owp.experiments: {shlex.join(cmd)}\n')
        logf.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env, bufsize=1)
        for line in proc.stdout:
            logf.write(line)
            if 'Iter(train)' in line or 'Epoch(train)' in line:
                fields = line.split('(train)')[1].split()
                keep = [fields[0] + fields[1]] if fields and fields[0] == '[' else fields[:1]
                for key in ('eta:', 'loss:'):
                    if key in fields:
                        keep.append(key + ' ' + fields[fields.index(key) + 1])
                _log(f'{spec.key}: ' + '  '.join(keep))
        proc.wait()
    state['train_attempts'][-1]['seconds'] = time.time() - t0
    state['train_attempts'][-1]['returncode'] = proc.returncode
    if proc.returncode != 0:
        raise RuntimeError(last_error_line(osp.join(spec.run_dir, 'train.log')))
    if not osp.isfile(spec.final_checkpoint):
        raise RuntimeError(f'training exited 0 but wrote no {spec.final_checkpoint}')


def _check_plan(spec: RunSpec) -> None:
    """Refuse to continue a run that was started with other settings."""
    have = _read_json(osp.join(spec.run_dir, 'plan.json'))
    # through JSON, as stored (tuples become lists)
    want = json.loads(json.dumps(dict(config=spec.config, options=spec.options,
                                      load_from=spec.load_from)))
    if have is not None and have != want:
        diff = sorted(k for k in set(have.get('options', {})) | set(want['options'])
                      if have.get('options', {}).get(k) != want['options'].get(k))
        if have.get('config') != want['config']:
            diff.insert(0, 'config')
        if have.get('load_from') != want['load_from']:
            diff.append('load_from')
        raise ManifestError(f'{spec.run_dir} was started with other settings ({", ".join(diff)} '
                            'differ); use another --work-dir or delete that run folder')


def _run_claimed(study: Study, spec: RunSpec, work_dir: str, launch: Launch,
                 cfg_options: Optional[Dict[str, Any]], sources: Sequence[str]) -> str:
    """Train (or reuse) and evaluate one run whose lock this runner holds.

    Returns the run's state afterwards: 'done', 'failed' (recorded in its
    ``state.json`` with the error's last line; the caller goes on with the other
    runs), or 'running' when another runner took it between the caller's look and
    the lock.
    """
    st = run_state(spec)  # again, now that it is ours: another runner may have been quicker
    if st.state in ('done', 'running'):
        _log(f'{spec.key}: {st.state} elsewhere meanwhile, skipped')
        return st.state
    _write_json(osp.join(spec.run_dir, 'plan.json'),
                dict(config=spec.config, options=spec.options, load_from=spec.load_from))
    state = _read_json(osp.join(spec.run_dir, 'state.json')) or {}
    state.update(state='running', pid=os.getpid(), host=socket.gethostname(), phase='training')
    state.pop('error', None)
    try:
        src = None if osp.isfile(spec.final_checkpoint) else find_reusable(spec, sources, launch)
        if src:
            _log(f'{spec.key}: reuses the training of {src}')
            reuse_run(spec, src, state)
        elif not osp.isfile(spec.final_checkpoint):
            _train(spec, launch, state)
        state.update(phase='evaluating')
        _write_json(osp.join(spec.run_dir, 'state.json'), state)
        t0 = time.time()
        if launch.launcher == 'slurm':
            cmd = eval_command(study, spec, launch, work_dir, cfg_options)
            if subprocess.run(cmd).returncode != 0:
                raise RuntimeError(f'evaluation failed: {shlex.join(cmd)}')
        else:
            write_metrics(study, spec, evaluate_run(study, spec), time.time() - t0, state)
    except Exception as e:  # recorded; the other rows go on
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        state.update(state='failed', error=msg)
        _write_json(osp.join(spec.run_dir, 'state.json'), state)
        _log(f'{spec.key}: FAILED: {msg} (log: {spec.run_dir}/train.log)')
        return 'failed'
    state.update(state='done', phase='done')
    _write_json(osp.join(spec.run_dir, 'state.json'), state)
    tabulate(study, work_dir)
    return 'done'


def run_study(study: Study, work_dir: str, seeds: Optional[Sequence[int]] = None,
              rows: Optional[Sequence[str]] = None, launch: Optional[Launch] = None,
              cfg_options: Optional[Dict[str, Any]] = None, dry_run: bool = False,
              reuse: bool = True) -> int:
    """Train, evaluate and tabulate every run not done yet; see the module docstring.

    A failed run is recorded (with its log's last error line) and the others go
    on; runs that load from it wait. With ``reuse`` (default), a run takes the
    training of an identical finished run of a ``reuse_from`` study instead of
    training. Returns 0 when every run is done, 1 otherwise.
    """
    launch = launch or Launch()
    specs = plan_runs(study, work_dir, seeds, rows, cfg_options)
    for spec in specs:
        _check_plan(spec)
    sources = reuse_sources(study, work_dir) if reuse else []
    if study.shapes is not None:
        if dry_run:
            _log(f'would generate the shapes benchmark into {study.data_root} ({study.shapes})')
        else:
            from owp.datasets.shapes import ShapesConfig, generate_shapes
            generate_shapes(study.data_root, ShapesConfig(**study.shapes), progress=True)
    pending = 0
    for spec in specs:
        st = run_state(spec)
        if st.state == 'done':
            _log(f'{spec.key}: done, kept')
            continue
        if st.state == 'running':
            _log(f'{spec.key}: running elsewhere ({st.detail}), skipped')
            pending += 1
            continue
        if dry_run:  # every command, a dependent's after its dependency's
            src = find_reusable(spec, sources, launch) if st.state != 'trained' else None
            if src:
                print(f'# {spec.key}: reuses the training of {src}')
            elif st.state != 'trained':
                print(shlex.join(train_command(spec, launch, _last_checkpoint(spec.run_dir))))
            print(shlex.join(eval_command(study, spec, launch, work_dir, cfg_options)))
            pending += 1
            continue
        if spec.depends_on is not None and run_state(spec.depends_on).state != 'done':
            _log(f'{spec.key}: waits for {spec.depends_on.key}')
            pending += 1
            continue
        os.makedirs(spec.run_dir, exist_ok=True)
        lock = _claim(spec.run_dir)
        if lock is None:
            _log(f'{spec.key}: running elsewhere (another runner holds {spec.run_dir}/.lock), '
                 'skipped')
            pending += 1
            continue
        try:
            pending += _run_claimed(study, spec, work_dir, launch, cfg_options, sources) != 'done'
        finally:
            os.close(lock)  # (a killed runner's lock goes with its process)
    if not dry_run:
        out = tabulate(study, work_dir)
        _log(f'table: {out["table.md"]}')
    return 0 if pending == 0 else 1


def write_metrics(study: Study, spec: RunSpec, scores: Dict[str, Dict[str, float]],
                  eval_seconds: float, state: Optional[dict] = None) -> str:
    """Write the run's ``metrics.json`` (which marks it done)."""
    state = state or _read_json(osp.join(spec.run_dir, 'state.json')) or {}
    attempts = state.get('train_attempts', [])
    data = dict(study=study.name, row=spec.row, seed=spec.seed, scores=scores,
                protocol=study.protocol, max_dets=list(study.eval_k),
                checkpoint=spec.final_checkpoint,
                # wall time of the attempts that ended (a killed one has none)
                train_seconds=sum(a.get('seconds', 0.0) for a in attempts),
                train_attempts=[dict(command=shlex.join(a['command']), seconds=a.get('seconds'),
                                     resumed_from=a.get('resumed_from')) for a in attempts],
                eval_seconds=eval_seconds,
                provenance=provenance(spec))
    if state.get('reused_from'):  # and the commit whose code trained it
        data['reused_from'] = state['reused_from']
        data['trained_at_commit'] = state.get('trained_at_commit')
    path = osp.join(spec.run_dir, 'metrics.json')
    _write_json(path, data)
    for score, metrics in scores.items():
        shown = ', '.join(f'{k} {100 * v:.2f}' for k, v in metrics.items()
                          if k in study.metrics and v >= 0)
        _log(f'{spec.key} [{score}]: {shown}')
    return path


def study_status(study: Study, work_dir: str, seeds: Optional[Sequence[int]] = None,
                 cfg_options: Optional[Dict[str, Any]] = None) -> List[tuple]:
    """``(run key, state, detail)`` of every run of the study.

    ``cfg_options`` as given to ``run`` (they decide which runs are reusable).
    """
    if seeds is None:  # the manifest's seeds and any other seed found on disk
        found = set(study.seeds)
        for row in study.rows:
            d = osp.join(work_dir, row.name)
            if osp.isdir(d):
                found |= {int(s[4:]) for s in os.listdir(d) if s.startswith('seed')
                          and s[4:].isdigit()}
        seeds = sorted(found)
    out = []
    sources = reuse_sources(study, work_dir)
    for spec in plan_runs(study, work_dir, seeds, cfg_options=cfg_options):
        st = run_state(spec)
        if st.state in ('waiting', 'interrupted') and sources and (
                spec.depends_on is None or run_state(spec.depends_on).state == 'done'):
            src = find_reusable(spec, sources)
            if src:  # what `run` will do with it
                st = RunState(st.state, f'reuses {src}')
        out.append((spec.key, st.state, st.detail))
    return out


def tabulate(study: Study, work_dir: str, readme: Optional[str] = None) -> Dict[str, str]:
    """Write the study's tables, figures and claims into ``work_dir`` (and its README's)."""
    from .aggregate import update_readme, write_tables
    from .claims import CLAIMS_BEGIN, CLAIMS_END, write_claims
    out = write_tables(study, work_dir)
    if study.score_dump:
        hist = _score_histograms(study, work_dir)
        if hist:
            out['score_hist.png'] = hist
    out.update(write_claims(study, work_dir))
    if readme:
        with open(out['table.md']) as f:
            update_readme(readme, f.read())
        if 'claims.md' in out:
            with open(out['claims.md']) as f:
                update_readme(readme, f.read(), CLAIMS_BEGIN, CLAIMS_END)
        out['README'] = readme
    return out


def _score_histograms(study: Study, work_dir: str) -> Optional[str]:
    """Proposal-score histograms (paper fig. 5) of each row's lowest finished seed."""
    from owp.analysis import load_score_dump, plot_score_histograms
    dumps = {}
    for row in study.rows:
        folder = osp.join(work_dir, row.name)
        seeds = sorted(int(d[4:]) for d in (os.listdir(folder) if osp.isdir(folder) else [])
                       if d.startswith('seed') and d[4:].isdigit()
                       and osp.isfile(osp.join(folder, d, 'metrics.json')))
        if not seeds:
            continue
        for score in row.scores:
            path = osp.join(folder, f'seed{seeds[0]}', f'eval_{_score_tag(score)}', 'scores.npz')
            if osp.isfile(path):
                dumps[f'{row.name}: {score} (seed {seeds[0]})'] = load_score_dump(path)
    if not dumps:
        return None
    return plot_score_histograms(dumps, osp.join(work_dir, 'score_hist.png'))

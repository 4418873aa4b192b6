"""Study manifests: which configs make up a paper table, and what the paper reported.

A study is a folder (``experiments/<name>/``) holding ``manifest.yaml``::

    title: Table 1, COCO VOC -> non-VOC
    seeds: [0, 1, 2]            # default of `run --seeds`
    protocol: remove            # OWPRecallMetric protocol ('remove' | 'ignore')
    max_dets: [10, 100]         # the k of AR@k the table reports
    curve_k: [1, 10, 100]       # optional: the k of the AR-against-k figure
    subsets: [novel, base]
    metrics: [base/AP, novel/AR@10, novel/AR@100]   # the table's columns
    data_root: data/shapes/     # optional: point every dataset/evaluator here
    shapes: {num_train: 800}    # optional: generate the shapes benchmark into data_root
    cfg_options: {}             # optional: --cfg-options of every run
    score_dump: false           # optional: keep proposal scores (score histograms)
    dump_proposals: false       # optional: keep the evaluated proposals (recall curves,
                                # gallery); default: on where `shapes:` is given
    reuse_from: [table1_shapes] # optional: studies (work dirs beside this one's) whose
                                # finished runs with the same training are reused, not retrained
    rows:
      - name: iou-cs-is
        config: ../../configs/coco/fcos-owp-iou-cs-is_r50_fpn_90k_coco-voc.py
        scores: [iou]           # score modes to evaluate the final checkpoint with
        paper: {novel/AR@10: 13.08, novel/AR@100: 30.19}  # for the first score
      - name: finetune
        config: finetune.py     # thin config in the study folder
        load_from: iou-cs-is    # this row's final checkpoint, same seed
        overrides: {model.bbox_head.unknown_masking.thr: 0.925}
    claims:                     # optional: the paper's claims, measured over seeds
      - id: finetune-keeps-ar
        paper: finetuning is the best at retaining OWP recall, only dropping 2% ...
        where: sec. 5.2, table 1
        parts:                  # or metric/a/b/kind/margin here, for one comparison
          - {metric: novel/AR@100, a: finetune, b: iou-cs-is, kind: close, margin: 2}
          - {metric: base/AP, a: finetune, b: joint, kind: close, margin: 1}

Config paths are relative to the study folder (or, failing that, to the
repository root). Every check happens in :func:`load_study`, before anything
trains, and an error names the manifest file and line.
"""
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..evaluation.functional.constants import SUBSETS

__all__ = ['CLAIM_KINDS', 'Claim', 'ClaimPart', 'ManifestError', 'Row', 'Study', 'SCORE_MODES',
           'find_study', 'load_study', 'metric_key_ok', 'order_rows']

#: ``test_cfg.score_mode`` values of OWPFCOSHead, and of OLN's heads
#: (``owp.models.utils.OLN_SCORE_MODES``; an OLN-RPN alone scores 'centerness').
SCORE_MODES = ('logits*centerness', 'logits*iou', 'centerness', 'iou', 'sqrt(centerness*iou)',
               'logits*sqrt(centerness*iou)')
# OWPRecallMetric's base AP keys (pycocotools' three, or LVISEval's summary).
AP_NAMES = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr', 'APc', 'APf')
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')
_STUDY_KEYS = {'title', 'question', 'seeds', 'protocol', 'max_dets', 'curve_k', 'subsets',
               'metrics', 'data_root', 'shapes', 'cfg_options', 'score_dump', 'rows', 'note',
               'claims', 'dump_proposals', 'reuse_from'}
_ROW_KEYS = {'name', 'config', 'scores', 'overrides', 'load_from', 'paper', 'note'}
#: What a claim part asserts of the paired difference d = a - b (percent points):
#: ``better``: a > b; ``close``: |a - b| <= margin.
CLAIM_KINDS = ('better', 'close')
_PART_KEYS = {'metric', 'a', 'b', 'a_score', 'b_score', 'a_minus', 'b_minus', 'kind', 'margin'}
_CLAIM_KEYS = {'id', 'paper', 'where', 'note', 'parts'} | _PART_KEYS


class ManifestError(ValueError):
    """A manifest that cannot run; the message starts with ``FILE:LINE:``."""


@dataclass
class Row:
    """One row of a study table: a config trained once per seed."""
    name: str
    config: str                     # absolute path
    scores: Tuple[str, ...]
    overrides: Dict[str, Any] = field(default_factory=dict)
    load_from: Optional[str] = None
    paper: Dict[str, float] = field(default_factory=dict)
    note: str = ''
    line: int = 0                   # 1-based line of the row in the manifest


@dataclass
class ClaimPart:
    """One measured comparison of a claim: ``metric`` of row ``a`` against row ``b``.

    Each row is evaluated under one score mode (by default its first). ``kind``
    ``'better'`` asserts a > b; ``'close'`` asserts |a - b| <= ``margin``
    (percent points). With ``a_minus`` (``b_minus``) a side is the per-seed
    difference of two rows, ``a - a_minus`` (the ``a_minus`` row at its first
    score mode): a difference of differences such as "classification costs OLN
    more recall than it costs FCOS", ``(oln-box - oln-box-cls) > (iou-cs-is -
    joint-unknown)``, still paired by seed.
    """
    metric: str
    a: str
    b: str
    a_score: str
    b_score: str
    kind: str
    margin: Optional[float] = None
    show_scores: bool = False       # a score mode was named (not each row's first)
    line: int = 0
    a_minus: Optional[str] = None
    b_minus: Optional[str] = None
    a_minus_score: Optional[str] = None
    b_minus_score: Optional[str] = None

    def describe(self) -> str:
        """``'novel/AR@100: iou > centerness'``, ``'...: |a − b| ≤ 2'`` or
        ``'...: (a − a2) > (b − b2)'``."""
        a = f'{self.a} ({self.a_score})' if self.show_scores else self.a
        b = f'{self.b} ({self.b_score})' if self.show_scores else self.b
        if self.a_minus:
            a = f'({a} − {self.a_minus})'
        if self.b_minus:
            b = f'({b} − {self.b_minus})'
        if self.kind == 'better':
            return f'{self.metric}: {a} > {b}'
        return f'{self.metric}: |{a} − {b}| ≤ {self.margin:g}'


@dataclass
class Claim:
    """A claim of the paper, in its words, and the comparisons that measure it."""
    id: str
    paper: str                      # the paper's words
    where: str                      # section / table / figure
    parts: Tuple[ClaimPart, ...]
    note: str = ''
    line: int = 0


@dataclass
class Study:
    """A parsed, validated manifest."""
    name: str
    folder: str
    manifest: str
    title: str
    rows: List[Row]
    seeds: Tuple[int, ...] = (0, )
    protocol: str = 'remove'
    max_dets: Tuple[int, ...] = (10, 100)
    curve_k: Tuple[int, ...] = ()
    subsets: Tuple[str, ...] = ('novel', 'base')
    metrics: Tuple[str, ...] = ('novel/AR@100', )
    data_root: Optional[str] = None
    shapes: Optional[Dict[str, Any]] = None
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    score_dump: bool = False
    dump_proposals: bool = False
    question: str = ''
    note: str = ''
    claims: Tuple[Claim, ...] = ()
    reuse_from: Tuple[str, ...] = ()

    def row(self, name: str) -> Row:
        """The row called ``name`` (KeyError naming the study otherwise)."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f'study {self.name!r} has no row {name!r}')

    @property
    def eval_k(self) -> Tuple[int, ...]:
        """Every k to evaluate: the table's and the figure's."""
        return tuple(sorted(set(self.max_dets) | set(self.curve_k)))


def metric_key_ok(key: str, subsets: Sequence[str], max_dets: Sequence[int]) -> bool:
    """Whether OWPRecallMetric can produce ``key`` with these subsets and k.

    ``AR@k`` for every k; ``ARs/ARm/ARl@K`` at the largest K; base-class AP
    names under ``base/``.
    """
    subset, _, name = key.partition('/')
    if subset not in subsets:
        return False
    if subset == 'base' and name in AP_NAMES:
        return True
    m = re.fullmatch(r'AR([sml]?)@(\d+)', name)
    if not m:
        return False
    k = int(m.group(2))
    return k == max(max_dets) if m.group(1) else k in max_dets


def find_study(study: str, experiments_dir: Optional[str] = None) -> str:
    """The manifest path of ``study``: a study name, a folder, or a manifest file."""
    if osp.isfile(study):
        return osp.abspath(study)
    if osp.isdir(study):
        path = osp.join(study, 'manifest.yaml')
    else:
        experiments_dir = experiments_dir or default_experiments_dir()
        path = osp.join(experiments_dir, study, 'manifest.yaml')
        if not osp.isfile(path):
            have = sorted(d for d in _listdir(experiments_dir)
                          if osp.isfile(osp.join(experiments_dir, d, 'manifest.yaml')))
            raise ManifestError(f'no study {study!r}: {path} does not exist '
                                f'(studies in {experiments_dir}: {", ".join(have) or "none"})')
    if not osp.isfile(path):
        raise ManifestError(f'{path}: no manifest.yaml in the study folder {study}')
    return osp.abspath(path)


def default_experiments_dir() -> str:
    """``experiments/`` of the repository owp was installed from."""
    return osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'experiments')


def _listdir(path):
    import os
    return os.listdir(path) if osp.isdir(path) else []


def _to_python(node, lines: Dict[int, int]):
    """A yaml node as Python; ``lines[id(obj)]`` = 1-based line of each mapping."""
    import yaml
    if isinstance(node, yaml.MappingNode):
        out = {}
        for k, v in node.value:
            out[_to_python(k, lines)] = _to_python(v, lines)
        lines[id(out)] = node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        out = [_to_python(v, lines) for v in node.value]
        lines[id(out)] = node.start_mark.line + 1
        return out
    return yaml.SafeLoader('').construct_object(node, deep=True)


def _parse_yaml(path: str):
    import yaml
    with open(path) as f:
        text = f.read()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        line = mark.line + 1 if mark is not None else 1
        raise ManifestError(f'{path}:{line}: not valid YAML: {e}') from None
    lines: Dict[int, int] = {}
    data = _to_python(node, lines) if node is not None else None
    return data, lines


def _key_lines(path: str) -> Dict[str, int]:
    """Line of the first ``key:`` at any depth (for errors about top-level keys)."""
    out: Dict[str, int] = {}
    with open(path) as f:
        for i, text in enumerate(f, 1):
            m = re.match(r'^(\w+):', text)
            if m and m.group(1) not in out:
                out[m.group(1)] = i
    return out


def _ints(value, what: str, err) -> Tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise err(f'{what} must be a non-empty list of integers, got {value!r}')
    return tuple(value)


def _resolve_config(config: str, folder: str) -> Optional[str]:
    for base in (folder, osp.dirname(osp.dirname(folder))):
        path = osp.normpath(osp.join(base, config))
        if osp.isfile(path):
            return path
    return None


def load_study(study: str, experiments_dir: Optional[str] = None) -> Study:
    """Parse and validate a study manifest.

    Args:
        study: A study name (folder under ``experiments/``), a study folder,
            or a manifest file.
        experiments_dir: Where study names are looked up.

    Returns:
        Study: rows with absolute config paths.

    Raises:
        ManifestError: naming the manifest line: a missing config, an unknown
            metric key or score mode, a duplicate row, a ``load_from`` on a row
            that is not in the study, a dependency cycle, an unknown field.
    """
    path = find_study(study, experiments_dir)
    folder = osp.dirname(path)
    data, lines = _parse_yaml(path)
    top = _key_lines(path)

    def err_at(line):
        return lambda msg: ManifestError(f'{path}:{line}: {msg}')

    if not isinstance(data, dict):
        raise ManifestError(f'{path}:1: a manifest is a mapping with a `rows` list')
    unknown = sorted(set(data) - _STUDY_KEYS)
    if unknown:
        raise err_at(top.get(unknown[0], 1))(
            f'unknown field {unknown[0]!r}; allowed: {", ".join(sorted(_STUDY_KEYS))}')
    kw: Dict[str, Any] = {}
    for key in ('seeds', 'max_dets', 'curve_k'):
        if key in data:
            kw[key] = _ints(data[key], key, err_at(top.get(key, 1)))
    for key in ('max_dets', 'curve_k'):
        if key in kw and min(kw[key]) <= 0:
            raise err_at(top[key])(f'{key} must be positive, got {list(kw[key])}')
    if 'curve_k' in kw and max(kw['curve_k']) > max(kw.get('max_dets', Study.max_dets)):
        raise err_at(top['curve_k'])('curve_k must not exceed the largest of max_dets')
    protocol = data.get('protocol', 'remove')
    if protocol not in ('remove', 'ignore'):
        raise err_at(top.get('protocol', 1))(
            f"protocol must be 'remove' or 'ignore', got {protocol!r}")
    subsets = tuple(data.get('subsets', Study.subsets))
    bad = [s for s in subsets if s not in SUBSETS]
    if bad or not subsets:
        raise err_at(top.get('subsets', 1))(f'subsets: unknown {bad}; allowed: {SUBSETS}')
    max_dets = kw.get('max_dets', Study.max_dets)
    metrics = data.get('metrics', list(Study.metrics))
    if not isinstance(metrics, list) or not metrics:
        raise err_at(top.get('metrics', 1))('metrics must be a non-empty list of metric keys')
    for m in metrics:
        if not isinstance(m, str) or not metric_key_ok(m, subsets, max_dets):
            raise err_at(top.get('metrics', 1))(
                f'unknown metric key {m!r} (with subsets {list(subsets)}, max_dets '
                f'{list(max_dets)}: {{subset}}/AR@k, {{subset}}/ARs|ARm|ARl@{max(max_dets)}, '
                'base/AP...)')
    for key, kind in (('cfg_options', dict), ('shapes', dict)):
        if key in data and not isinstance(data[key], kind):
            raise err_at(top.get(key, 1))(f'{key} must be a mapping, got {data[key]!r}')
    if data.get('shapes') is not None and not data.get('data_root'):
        raise err_at(top['shapes'])('shapes: needs `data_root` (where to generate the data)')

    # Kept by default for shapes-sized studies only: their dumps are a few MB (200 images x
    # max(max_dets) proposals); COCO's 5,000 images x 100 would be ~100 MB a score mode.
    dump_proposals = data.get('dump_proposals', data.get('shapes') is not None)
    if not isinstance(dump_proposals, bool):
        raise err_at(top.get('dump_proposals', 1))(
            f'dump_proposals must be true or false, got {dump_proposals!r}')

    reuse_from = data.get('reuse_from') or []
    if not isinstance(reuse_from, list) or not all(
            isinstance(n, str) and _NAME.match(n) for n in reuse_from):
        raise err_at(top.get('reuse_from', 1))(
            f'reuse_from must be a list of study names, got {data.get("reuse_from")!r}')
    if osp.basename(folder) in reuse_from:
        raise err_at(top.get('reuse_from', 1))('reuse_from names this study itself')

    raw_rows = data.get('rows')
    if not isinstance(raw_rows, list) or not raw_rows:
        raise err_at(top.get('rows', 1))('rows must be a non-empty list')
    rows: List[Row] = []
    for raw in raw_rows:
        line = lines.get(id(raw), top.get('rows', 1))
        err = err_at(line)
        if not isinstance(raw, dict):
            raise err(f'a row is a mapping with name/config/scores, got {raw!r}')
        name = raw.get('name')
        if not isinstance(name, str) or not _NAME.match(name):
            raise err(f'row name must be letters, digits, "-", "_" or ".", got {name!r}')

        def row_err(msg, _line=line, _name=name):
            return ManifestError(f'{path}:{_line}: row {_name!r}: {msg}')

        unknown = sorted(set(raw) - _ROW_KEYS)
        if unknown:
            raise row_err(f'unknown field {unknown[0]!r}; allowed: {", ".join(sorted(_ROW_KEYS))}')
        if any(r.name == name for r in rows):
            raise row_err('duplicate row name')
        config = raw.get('config')
        if not isinstance(config, str):
            raise row_err('needs `config` (a path relative to the study folder)')
        resolved = _resolve_config(config, folder)
        if resolved is None:
            raise row_err(f'config {config!r} does not exist (relative to {folder} or the '
                          'repository root)')
        scores = raw.get('scores')
        if isinstance(scores, str):
            scores = [scores]
        if not isinstance(scores, list) or not scores:
            raise row_err(f'needs `scores`: a list among {list(SCORE_MODES)}')
        bad = [s for s in scores if s not in SCORE_MODES]
        if bad:
            raise row_err(f'unknown score mode {bad[0]!r}; allowed: {list(SCORE_MODES)}')
        if len(set(scores)) != len(scores):
            raise row_err(f'a score mode is listed twice: {scores}')
        paper = raw.get('paper') or {}
        if not isinstance(paper, dict):
            raise row_err(f'paper must map metric keys to numbers, got {paper!r}')
        for k, v in paper.items():
            if k not in metrics:
                raise row_err(f'paper value for {k!r}, which is not one of the study\'s '
                              f'metrics {metrics}')
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise row_err(f'paper value of {k!r} must be a number (percent), got {v!r}')
        overrides = raw.get('overrides') or {}
        if not isinstance(overrides, dict):
            raise row_err(f'overrides must be a mapping of config keys, got {overrides!r}')
        load_from = raw.get('load_from')
        if load_from is not None and not isinstance(load_from, str):
            raise row_err(f'load_from must name another row, got {load_from!r}')
        rows.append(Row(name=name, config=resolved, scores=tuple(scores),
                        overrides=dict(overrides), load_from=load_from,
                        paper={k: float(v) for k, v in paper.items()},
                        note=str(raw.get('note', '')), line=line))
    names = {r.name for r in rows}
    for r in rows:
        if r.load_from is not None and r.load_from not in names:
            raise ManifestError(f'{path}:{r.line}: row {r.name!r}: load_from {r.load_from!r} '
                                f'is not a row of this study (rows: {", ".join(sorted(names))})')
    order_rows(rows, path)  # raises on a cycle
    eval_k = tuple(sorted(set(kw.get('max_dets', Study.max_dets)) | set(kw.get('curve_k', ()))))
    claims = _parse_claims(data.get('claims'), rows, subsets, eval_k, path, lines,
                           top.get('claims', 1))
    return Study(name=osp.basename(folder), folder=folder, manifest=path,
                 title=str(data.get('title', osp.basename(folder))), rows=rows,
                 protocol=protocol, subsets=subsets, metrics=tuple(metrics),
                 data_root=data.get('data_root'), shapes=data.get('shapes'),
                 cfg_options=dict(data.get('cfg_options') or {}),
                 score_dump=bool(data.get('score_dump', False)), dump_proposals=dump_proposals,
                 question=str(data.get('question', '')).strip(),
                 note=str(data.get('note', '')).strip(), claims=claims,
                 reuse_from=tuple(reuse_from), **kw)


def _parse_claims(raw_claims, rows: Sequence[Row], subsets: Sequence[str],
                  eval_k: Sequence[int], path: str, lines: Dict[int, int],
                  top_line: int) -> Tuple[Claim, ...]:
    """Validate the manifest's ``claims:`` list (see :class:`Claim`).

    A claim is one comparison (``metric``, ``a``, ``b``, ``kind``, ``margin``,
    ``a_score``, ``b_score``, ``a_minus``, ``b_minus`` at its top level) or a
    list of them (``parts``).
    """
    if raw_claims is None:
        return ()
    if not isinstance(raw_claims, list):
        raise ManifestError(f'{path}:{top_line}: claims must be a list of claims, each with '
                            'id, paper, where and metric/a/b/kind (or parts)')
    by_name = {r.name: r for r in rows}
    claims: List[Claim] = []
    for raw in raw_claims:
        line = lines.get(id(raw), top_line)
        if not isinstance(raw, dict):
            raise ManifestError(f'{path}:{line}: a claim is a mapping with id, paper, where and '
                                f'metric/a/b/kind (or parts), got {raw!r}')
        cid = raw.get('id')
        if not isinstance(cid, str) or not _NAME.match(cid):
            raise ManifestError(f'{path}:{line}: claim id must be letters, digits, "-", "_" '
                                f'or ".", got {cid!r}')

        def err(msg, _line=line, _cid=cid):
            return ManifestError(f'{path}:{_line}: claim {_cid!r}: {msg}')

        unknown = sorted(set(raw) - _CLAIM_KEYS)
        if unknown:
            raise err(f'unknown field {unknown[0]!r}; allowed: {", ".join(sorted(_CLAIM_KEYS))}')
        if any(c.id == cid for c in claims):
            raise err('duplicate claim id')
        for key in ('paper', 'where'):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise err(f'needs `{key}`: ' + ('the paper\'s words, quoted' if key == 'paper'
                                                else 'the section, table or figure they are in'))
        if 'parts' in raw:
            mixed = sorted(set(raw) & _PART_KEYS)
            if mixed:
                raise err(f'has `parts` and {mixed[0]!r}: put every comparison in `parts`')
            raw_parts = raw['parts']
            if not isinstance(raw_parts, list) or not raw_parts:
                raise err('parts must be a non-empty list of comparisons (metric/a/b/kind)')
        else:
            raw_parts = [{k: v for k, v in raw.items() if k in _PART_KEYS}]
            lines[id(raw_parts[0])] = line
        parts = tuple(_parse_part(p, lines.get(id(p), line), cid, by_name, subsets, eval_k,
                                  path) for p in raw_parts)
        claims.append(Claim(id=cid, paper=' '.join(raw['paper'].split()),
                            where=' '.join(raw['where'].split()), parts=parts,
                            note=' '.join(str(raw.get('note', '')).split()), line=line))
    return tuple(claims)


def _parse_part(raw, line: int, cid: str, by_name: Mapping[str, Row], subsets: Sequence[str],
                eval_k: Sequence[int], path: str) -> ClaimPart:
    def err(msg):
        return ManifestError(f'{path}:{line}: claim {cid!r}: {msg}')

    if not isinstance(raw, dict):
        raise err(f'a part is a mapping with metric/a/b/kind, got {raw!r}')
    unknown = sorted(set(raw) - _PART_KEYS)
    if unknown:
        raise err(f'unknown field {unknown[0]!r} in a part; allowed: '
                  f'{", ".join(sorted(_PART_KEYS))}')
    for key in ('metric', 'a', 'b', 'kind'):
        if key not in raw:
            raise err(f'needs `{key}`' + (' (the rows compared: a row name each)'
                                          if key in 'ab' else ''))
    metric = raw['metric']
    if not isinstance(metric, str) or not metric_key_ok(metric, subsets, eval_k):
        raise err(f'unknown metric key {metric!r} (with subsets {list(subsets)} and k '
                  f'{list(eval_k)}: {{subset}}/AR@k, {{subset}}/ARs|ARm|ARl@{max(eval_k)}, '
                  'base/AP...)')
    kind = raw['kind']
    if kind not in CLAIM_KINDS:
        raise err(f'kind must be one of {list(CLAIM_KINDS)} (better: a > b; close: '
                  f'|a - b| <= margin), got {kind!r}')
    margin = raw.get('margin')
    if kind == 'close':
        if (not isinstance(margin, (int, float)) or isinstance(margin, bool)
                or not margin > 0):
            raise err(f'kind close needs `margin`: a positive number of percent points, '
                      f'got {margin!r}')
        margin = float(margin)
    elif margin is not None:
        raise err('`margin` is for kind close only (better asserts a > b)')
    scores = {}
    for side in ('a', 'b'):
        name = raw[side]
        if name not in by_name:
            raise err(f'{side}: {name!r} is not a row of this study (rows: '
                      f'{", ".join(sorted(by_name))})')
        row = by_name[name]
        score = raw.get(f'{side}_score', row.scores[0])
        if score not in row.scores:
            raise err(f'{side}_score: row {name!r} is evaluated with {list(row.scores)}, not '
                      f'{score!r}')
        if metric.startswith('base/') and metric.split('/', 1)[1] in AP_NAMES \
                and not score.startswith('logits'):
            raise err(f'{metric} is measured only for scores with logits; row {name!r} is '
                      f'scored {score!r}')
        scores[side] = score
    minus = {}
    for side in ('a', 'b'):
        name = raw.get(f'{side}_minus')
        if name is None:
            continue
        if name not in by_name:
            raise err(f'{side}_minus: {name!r} is not a row of this study (rows: '
                      f'{", ".join(sorted(by_name))})')
        score = by_name[name].scores[0]
        if metric.startswith('base/') and metric.split('/', 1)[1] in AP_NAMES \
                and not score.startswith('logits'):
            raise err(f'{metric} is measured only for scores with logits; row {name!r} '
                      f'({side}_minus) is scored {score!r}')
        if name == raw[side] and score == scores[side]:
            raise err(f'{side}_minus is {side} itself ({name!r}, {score!r}): the side '
                      f'would be 0 in every seed')
        minus[side] = (name, score)
    if raw['a'] == raw['b'] and scores['a'] == scores['b'] \
            and minus.get('a') == minus.get('b'):
        raise err(f'a and b are the same row and score ({raw["a"]!r}, {scores["a"]!r})')
    a_minus, a_minus_score = minus.get('a', (None, None))
    b_minus, b_minus_score = minus.get('b', (None, None))
    return ClaimPart(metric=metric, a=raw['a'], b=raw['b'], a_score=scores['a'],
                     b_score=scores['b'], kind=kind, margin=margin,
                     show_scores='a_score' in raw or 'b_score' in raw, line=line,
                     a_minus=a_minus, b_minus=b_minus, a_minus_score=a_minus_score,
                     b_minus_score=b_minus_score)


def order_rows(rows: Sequence[Row], manifest: str = 'manifest') -> List[Row]:
    """Rows in manifest order, each after the row it loads from.

    Raises:
        ManifestError: on a dependency cycle, naming its rows and first line.
    """
    by_name = {r.name: r for r in rows}
    done: List[Row] = []
    state: Dict[str, int] = {}  # 1 = on the stack, 2 = placed

    def visit(r: Row, stack: List[str]):
        if state.get(r.name) == 2:
            return
        if state.get(r.name) == 1:
            cycle = stack[stack.index(r.name):] + [r.name]
            raise ManifestError(f'{manifest}:{r.line}: row {r.name!r}: load_from forms a '
                                f'cycle: {" -> ".join(cycle)}')
        state[r.name] = 1
        if r.load_from is not None and r.load_from in by_name:
            visit(by_name[r.load_from], stack + [r.name])
        state[r.name] = 2
        done.append(r)

    for r in rows:
        visit(r, [])
    return done

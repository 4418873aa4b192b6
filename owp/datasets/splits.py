"""Base/novel class splits, by name or from a file.

A split is resolved against the categories of an annotation file into a
:class:`Split` of category ids. Names that the file does not have fail with the
closest valid names in the message; overlapping base/novel lists fail too.

Named splits:

* ``coco-voc``: base = the 20 PASCAL VOC classes under their COCO names, novel =
  the other 60 COCO classes (paper sec. 5).
* ``lvis-freq``: base = every rare and common category plus the first 305
  frequent ones by category id; novel = the remaining frequent ones (100 on
  LVIS v1). Derived from the file's ``frequency`` field.
* ``shapes``: the synthetic shapes benchmark (4 base + 4 novel).

A split file is JSON ``{"base": [...], "novel": [...]}`` of names or ids. A dict
of that form can be passed directly.
"""
import difflib
import json
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence, Tuple, Union

__all__ = ['Split', 'resolve_split', 'SPLIT_NAMES', 'COCO_VOC_BASE_CLASSES',
           'SHAPES_BASE_CLASSES', 'SHAPES_NOVEL_CLASSES', 'LVIS_NUM_BASE_FREQUENT']

#: The 20 PASCAL VOC classes under their COCO names.
COCO_VOC_BASE_CLASSES = ('airplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat',
                         'chair', 'cow', 'dining table', 'dog', 'horse', 'motorcycle', 'person',
                         'potted plant', 'sheep', 'couch', 'train', 'tv')
SHAPES_BASE_CLASSES = ('ellipse', 'rectangle', 'triangle', 'cross')
SHAPES_NOVEL_CLASSES = ('star', 'ring', 'hexagon', 'arrow')
#: lvis-freq: frequent categories (by id) that stay base.
LVIS_NUM_BASE_FREQUENT = 305
SPLIT_NAMES = ('coco-voc', 'lvis-freq', 'shapes')

SplitSpec = Union[str, Mapping[str, Sequence[Union[str, int]]]]


@dataclass(frozen=True)
class Split:
    """A resolved split: category ids of an annotation file."""
    name: str
    base_ids: Tuple[int, ...]
    novel_ids: Tuple[int, ...]
    id_to_name: Dict[int, str]

    @property
    def base_names(self) -> List[str]:
        return [self.id_to_name[i] for i in self.base_ids]

    @property
    def novel_names(self) -> List[str]:
        return [self.id_to_name[i] for i in self.novel_ids]

    def ids(self, subset: str) -> Tuple[int, ...]:
        """Category ids of ``subset``: 'base', 'novel' or 'all'."""
        if subset == 'base':
            return self.base_ids
        if subset == 'novel':
            return self.novel_ids
        if subset == 'all':
            return tuple(sorted(self.base_ids + self.novel_ids))
        raise ValueError(f"subset must be 'base', 'novel' or 'all', got {subset!r}")


def _lookup(entries: Sequence[Union[str, int]], categories: Sequence[Mapping], field: str,
            source: str) -> List[int]:
    by_name = {c['name']: c['id'] for c in categories}
    ids = {c['id'] for c in categories}
    out = []
    for e in entries:
        if isinstance(e, bool) or not isinstance(e, (str, int)):
            raise ValueError(f'{source}: {field} entry {e!r} is neither a class name nor an id')
        if isinstance(e, int):
            if e not in ids:
                raise ValueError(f'{source}: {field} category id {e} is not in the annotation '
                                 'file')
            out.append(e)
        elif e in by_name:
            out.append(by_name[e])
        else:
            raise ValueError(f'{source}: unknown {field} class {e!r}; '
                             f'{_closest_hint(e, list(by_name))}')
    return out


def _closest_hint(name: str, names: List[str]) -> str:
    """The valid names closest to ``name``: similar spelling, else sharing a
    word-part (e.g. 'tv' -> 'tvmonitor'), else the file's first names."""
    low = name.lower()
    close = [n for n in names if low in n.lower() or n.lower() in low]
    close += difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    if not close:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.25)
    close = list(dict.fromkeys(close))[:3]
    if close:
        return f'closest: {close}'
    return f'the file has {len(names)} classes, e.g. {names[:5]}'


def _check(name: str, base: List[int], novel: List[int], id_to_name: Dict[int, str]) -> Split:
    both = sorted(set(base) & set(novel))
    if both:
        raise ValueError(f'split {name!r}: classes {[id_to_name[i] for i in both]} are both '
                         'base and novel')
    if not novel:
        raise ValueError(f'split {name!r}: no novel class')
    return Split(name, tuple(sorted(set(base))), tuple(sorted(set(novel))), id_to_name)


def resolve_split(split: SplitSpec, categories: Sequence[Mapping]) -> Split:
    """Resolve a split name, split file path or dict against a file's categories.

    Args:
        split: 'coco-voc', 'lvis-freq', 'shapes', a path to a JSON split file,
            or a mapping with 'base' and 'novel' lists (names or ids).
        categories: The ``categories`` list of a COCO/LVIS annotation file.

    Returns:
        Split: category ids of the base and novel classes.
    """
    id_to_name = {c['id']: c['name'] for c in categories}
    if isinstance(split, str) and split in SPLIT_NAMES:
        if split == 'lvis-freq':
            missing = [c['name'] for c in categories if 'frequency' not in c]
            if missing:
                raise ValueError("split 'lvis-freq' needs the LVIS 'frequency' field; "
                                 f'categories without it: {missing[:5]}')
            odd = [(c['name'], c['frequency']) for c in categories
                   if c['frequency'] not in ('r', 'c', 'f')]
            if odd:
                raise ValueError("split 'lvis-freq': LVIS 'frequency' must be 'r', 'c' or "
                                 f"'f'; got {odd[:5]}")
            freq = sorted(c['id'] for c in categories if c['frequency'] == 'f')
            base = [c['id'] for c in categories if c['frequency'] in ('r', 'c')]
            base += freq[:LVIS_NUM_BASE_FREQUENT]
            return _check(split, base, freq[LVIS_NUM_BASE_FREQUENT:], id_to_name)
        base_names = COCO_VOC_BASE_CLASSES if split == 'coco-voc' else SHAPES_BASE_CLASSES
        base = _lookup(base_names, categories, 'base', f'split {split!r}')
        if split == 'coco-voc':
            novel = [i for i in id_to_name if i not in set(base)]
        else:
            novel = _lookup(SHAPES_NOVEL_CLASSES, categories, 'novel', f'split {split!r}')
        return _check(split, base, novel, id_to_name)
    if isinstance(split, str):
        if not osp.isfile(split):
            raise ValueError(f'split {split!r} is neither a split name {list(SPLIT_NAMES)} '
                             'nor an existing split file')
        with open(split) as f:
            try:
                spec = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f'split file {split}: not valid JSON ({e})') from None
        source = f'split file {split}'
        name = split
    else:
        spec, source, name = split, 'split dict', 'custom'
    if not isinstance(spec, Mapping) or 'base' not in spec or 'novel' not in spec:
        raise ValueError(f"{source}: must be an object with 'base' and 'novel' lists")
    for field in ('base', 'novel'):
        if not isinstance(spec[field], (list, tuple)):
            raise ValueError(f'{source}: {field!r} must be a list of class names or ids, '
                             f'got {spec[field]!r}')
    base = _lookup(spec['base'], categories, 'base', source)
    novel = _lookup(spec['novel'], categories, 'novel', source)
    return _check(name, base, novel, id_to_name)

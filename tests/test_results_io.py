"""owp.evaluation.functional.results_io: the fast results reader gives exactly
``results_to_arrays(json.load(f))``: the same arrays, the same errors."""
import gc
import json
import os
import random
import threading

import numpy as np
import pytest

from owp.evaluation.functional import results_io
from owp.evaluation.functional.proposals import evaluate_proposals, results_to_arrays
from owp.evaluation.functional.results_io import load_json, load_results

IMAGE_IDS = [7, 3, 11, 5]


def _entries(n=60, seed=0):
    """Results with numbers in every form writers produce."""
    rng = random.Random(seed)
    forms = [lambda v: v,                                  # shortest repr of a double
             lambda v: round(v, 2),                        # rounded
             lambda v: float(np.float32(v)),               # a float32 widened (mmdet)
             lambda v: int(v) + 1]                         # an int
    out = []
    for i in range(n):
        f = forms[i % len(forms)]
        box = [f(rng.uniform(0, 500)), f(rng.uniform(0, 500)), f(rng.uniform(1, 300)),
               f(rng.uniform(1, 300))]
        out.append(dict(image_id=rng.choice(IMAGE_IDS), category_id=rng.randint(1, 9),
                        bbox=box, score=f(rng.random()) if i % 4 != 3 else 1))
    out[5]['score'] = 1e-300
    out[6]['bbox'][0] = -0.0
    out[7]['bbox'][1] = 1.5e3
    return out


def _write(tmp_path, text, name='res.json'):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def _same(a, b):
    assert len(a) == len(b) == 3
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == 'f')
        assert np.array_equal(np.signbit(x), np.signbit(y))  # -0.0 stays -0.0


@pytest.mark.parametrize('dump', [
    dict(), dict(separators=(',', ':')), dict(indent=1), dict(indent='\t')])
@pytest.mark.parametrize('chunk_bytes', [64, 1000, 1 << 20])
def test_same_arrays_as_results_to_arrays(tmp_path, dump, chunk_bytes):
    entries = _entries()
    path = _write(tmp_path, json.dumps(entries, **dump))
    _same(load_results(path, IMAGE_IDS, chunk_bytes=chunk_bytes),
          results_to_arrays(entries, IMAGE_IDS))


def test_other_layouts_take_the_plain_json_path(tmp_path):
    entries = _entries(12)
    # a wrapper dict; a split point inside a string; nested objects in an entry
    odd = [dict(e, note='}, {"image_id": 5,') for e in entries]
    nested = [dict(e, extra=[{'a': 1}, {'b': [2]}], meta={'x': {}}) for e in entries]
    for data in ({'annotations': entries, 'info': {}}, odd, nested):
        path = _write(tmp_path, json.dumps(data))
        _same(load_results(path, IMAGE_IDS, chunk_bytes=64),
              results_to_arrays(entries, IMAGE_IDS))


# Each makes results_to_arrays fail or take its slow path at entry 9.
MUTATIONS = {
    'unknown image id': lambda e: e.update(image_id=99),
    'image id as string': lambda e: e.update(image_id='7'),
    'image id as float': lambda e: e.update(image_id=7.0),
    'image id beyond int64': lambda e: e.update(image_id=2 ** 64 - 1),
    'score as string': lambda e: e.update(score='0.5'),
    'score as bool': lambda e: e.update(score=True),
    'score NaN': lambda e: e.update(score=float('nan')),
    'score overflows to inf': lambda e: e.update(score=10 ** 400),
    'bbox Infinity': lambda e: e['bbox'].__setitem__(2, float('inf')),
    'bbox of 3': lambda e: e['bbox'].pop(),
    'bbox of 5': lambda e: e['bbox'].append(1.0),
    'bbox null': lambda e: e.update(bbox=None),
    'bbox number as string': lambda e: e['bbox'].__setitem__(0, '1'),
    'zero width': lambda e: e['bbox'].__setitem__(2, 0),
    'negative height': lambda e: e['bbox'].__setitem__(3, -2.5),
    'missing score': lambda e: e.pop('score'),
    'missing image_id': lambda e: e.pop('image_id'),
    'entry not a dict': lambda e: (e.clear(), e.update(x=1)),
}


def _expected(entries, validate):
    try:
        return results_to_arrays(entries, IMAGE_IDS, validate), None
    except Exception as e:  # noqa: BLE001  (what the reference raises is the contract)
        return None, e


@pytest.fixture(params=['one process', 'two processes'])
def workers(request, monkeypatch):
    """Decode in one process, or in two (any file size)."""
    if request.param == 'one process':
        return 1
    monkeypatch.setattr(results_io, 'PARALLEL_MIN_BYTES', 0)
    return 2


@pytest.mark.parametrize('dump', [dict(), dict(indent=1)])
def test_two_processes_same_arrays(tmp_path, dump, monkeypatch):
    monkeypatch.setattr(results_io, 'PARALLEL_MIN_BYTES', 0)
    forks = []
    two = results_io._decode_in_two
    monkeypatch.setattr(results_io, '_decode_in_two', lambda *a: forks.append(a) or two(*a))
    entries = _entries(200)
    path = _write(tmp_path, json.dumps(entries, **dump))
    want = results_to_arrays(entries, IMAGE_IDS)
    _same(load_results(path, IMAGE_IDS, chunk_bytes=512, workers=2), want)
    assert len(forks) == 1
    # no other thread may run during a fork: then one process decodes
    started, stop = threading.Event(), threading.Event()
    t = threading.Thread(target=lambda: (started.set(), stop.wait()))
    t.start()
    started.wait()
    try:
        _same(load_results(path, IMAGE_IDS, chunk_bytes=512, workers=2), want)
        assert len(forks) == 1
    finally:
        stop.set()
        t.join()


@pytest.mark.parametrize('validate', [True, False])
@pytest.mark.parametrize('at', [9, 25])  # first or second half of the file
@pytest.mark.parametrize('name', sorted(MUTATIONS))
def test_bad_entries_same_outcome(tmp_path, name, validate, at, workers):
    entries = _entries(30)
    MUTATIONS[name](entries[at])
    if name == 'entry not a dict':
        entries[at] = [1, 2]
    text = json.dumps(entries)
    if name == 'score overflows to inf':
        text = text.replace(str(10 ** 400), '1e400')
    path = _write(tmp_path, text)
    want, error = _expected(json.loads(text), validate)
    if error is None:
        _same(load_results(path, IMAGE_IDS, validate, chunk_bytes=256, workers=workers), want)
    else:
        with pytest.raises(type(error)) as got:
            load_results(path, IMAGE_IDS, validate, chunk_bytes=256, workers=workers)
        assert str(got.value) == str(error)
        assert f'results[{at}]' in str(got.value) or name == 'image id beyond int64'


@pytest.mark.parametrize('text,message', [
    ('[]', 'results: empty results list'),
    ('[{"image_id": 7, "bbox": [1, 2, 3, 4], "score": 0.5},]', 'is not valid JSON'),
    ('[{"image_id": 7, "bbox": [1, 2, 3, 4], "score": 0.5}', 'is not valid JSON'),
    ('[{"image_id": 7, "bbox": [1, 2, 3, 4], "score": 0.5}] x', 'is not valid JSON'),
    ('{"images": []}', 'must hold a list of {image_id, bbox, score} entries'),
    ('', 'is not valid JSON'),
])
def test_file_level_errors(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError) as e:
        load_results(path, IMAGE_IDS, chunk_bytes=16)
    assert message in str(e.value)
    if 'results:' not in message:
        assert path in str(e.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        load_results(str(tmp_path / 'nope.json'), IMAGE_IDS)


def test_too_large_for_memory_fails_before_reading(tmp_path, monkeypatch):
    path = _write(tmp_path, json.dumps(_entries()))
    monkeypatch.setattr(results_io, 'available_memory', lambda: 100 << 20)
    opened = []
    monkeypatch.setattr(results_io, '_decode_chunks', lambda *a: opened.append(a))
    monkeypatch.setattr(results_io, 'HEADROOM_BYTES', 0)
    n = results_io._estimated_entries(path, len(open(path).read()))
    monkeypatch.setattr(results_io, 'BYTES_PER_PROPOSAL', (200 << 20) / n)
    with pytest.raises(MemoryError, match=r'res\.json.*needs about 0\.20 GiB.*only 0\.10 GiB'):
        load_results(path, IMAGE_IDS)
    assert not opened


def test_streams_when_only_the_arrays_fit(tmp_path, monkeypatch, workers):
    """Objects would not fit: a valid file still streams; a refused entry is
    named from the typed decoder instead of the entry-by-entry checker."""
    entries = _entries(40)
    size = len(json.dumps(entries))
    monkeypatch.setattr(results_io, 'HEADROOM_BYTES', 0)
    monkeypatch.setattr(results_io, 'BYTES_PER_PROPOSAL', 50)  # 40 B of JSON per entry at most
    monkeypatch.setattr(results_io, 'available_memory', lambda: 3 * size)
    path = _write(tmp_path, json.dumps(entries))
    _same(load_results(path, IMAGE_IDS, chunk_bytes=128, workers=workers),
          results_to_arrays(entries, IMAGE_IDS))
    entries[33]['score'] = 'high'
    path = _write(tmp_path, json.dumps(entries))
    with pytest.raises(ValueError, match=r'results\[33\]: Expected `float`, got `str`.*needs about'):
        load_results(path, IMAGE_IDS, chunk_bytes=128, workers=workers)


def _children_left(pid):
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)  # still running (or a zombie)
    except ChildProcessError:
        return False


@pytest.mark.parametrize('head_start', [0, 3000, 10 ** 9])
@pytest.mark.parametrize('bad', [None, 3, 150])  # a bad entry in the head or the tail
def test_prefetched_tail_same_outcome(tmp_path, monkeypatch, head_start, bad):
    """A tail decoded while the annotation file is read (prefetch_results) gives
    the same arrays, or the same error, as load_results alone; its process is
    reaped either way."""
    monkeypatch.setattr(results_io, 'PARALLEL_MIN_BYTES', 0)
    entries = _entries(200)
    if bad is not None:
        entries[bad]['score'] = '0.5'
    path = _write(tmp_path, json.dumps(entries))
    want, error = _expected(entries, True)
    with results_io.prefetch_results(path, head_start, chunk_bytes=512, workers=2) as pre:
        tail = pre.tail
        assert tail is not None and 0 < tail.comma < len(json.dumps(entries))
        if error is None:
            _same(load_results(pre, IMAGE_IDS, chunk_bytes=512), want)
        else:
            with pytest.raises(type(error)) as got:
                load_results(pre, IMAGE_IDS, chunk_bytes=512)
            assert str(got.value) == str(error)
        assert pre.tail is None and tail.pid is None  # handed over, then reaped
    # the larger the head start, the earlier the split: the tail gets more
    if head_start == 10 ** 9:
        assert tail.comma < 1 << 20


def test_unused_prefetch_is_stopped(tmp_path, monkeypatch):
    """A prefetch whose results are never read (the annotation file failed), or
    read with other chunks, is stopped and reaped; a small file or one worker
    starts nothing."""
    monkeypatch.setattr(results_io, 'PARALLEL_MIN_BYTES', 0)
    path = _write(tmp_path, json.dumps(_entries(200)))
    with results_io.prefetch_results(path, workers=2) as pre:
        pid = pre.tail.pid
    assert pre.tail is None and not _children_left(pid)
    with results_io.prefetch_results(path, workers=2) as pre:
        pid = pre.tail.pid
        _same(load_results(pre, IMAGE_IDS, chunk_bytes=100),
              results_to_arrays(_entries(200), IMAGE_IDS))
    assert not _children_left(pid)
    assert results_io.prefetch_results(path, workers=1).tail is None
    monkeypatch.setattr(results_io, 'PARALLEL_MIN_BYTES', 1 << 30)
    assert results_io.prefetch_results(path, workers=2).tail is None
    assert results_io.prefetch_results(str(tmp_path / 'nope.json'), workers=2).tail is None


def test_gc_state_restored(tmp_path):
    path = _write(tmp_path, json.dumps(_entries()))
    assert gc.isenabled()
    load_results(path, IMAGE_IDS)
    assert gc.isenabled()
    gc.disable()
    try:
        load_results(path, IMAGE_IDS)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_load_json_is_json_load(tmp_path):
    data = dict(a=[1, 2.5, -0.0, 1e-300, 2 ** 70, None, True, 'é\\"'], b={'c': []})
    path = _write(tmp_path, json.dumps(data))
    assert load_json(path) == json.loads(json.dumps(data))
    path = _write(tmp_path, '{"a": NaN}')  # json reads it, msgspec does not
    assert np.isnan(load_json(path)['a'])
    with pytest.raises(ValueError, match=r'annotation file .*bad\.json.* is not valid JSON'):
        load_json(_write(tmp_path, '{"a": }', 'bad.json'), 'annotation')


def test_evaluate_proposals_from_a_path(tmp_path):
    rng = np.random.default_rng(0)
    coco = dict(images=[dict(id=i) for i in IMAGE_IDS],
                categories=[dict(id=1, name='a'), dict(id=2, name='b')],
                annotations=[dict(id=j + 1, image_id=IMAGE_IDS[j % 4], category_id=1 + j % 2,
                                  bbox=[float(x) for x in rng.uniform(0, 200, 2)] + [50, 60],
                                  area=3000, iscrowd=0) for j in range(20)])
    entries = [dict(image_id=a['image_id'], bbox=[b + float(d) for b, d in
                                                  zip(a['bbox'], rng.normal(0, 3, 4))],
                    score=float(rng.random())) for a in coco['annotations'] * 3]
    path = _write(tmp_path, json.dumps(entries))
    split = dict(base=['a'], novel=['b'])
    assert evaluate_proposals(coco, path, split, ('novel', 'base')) == \
        evaluate_proposals(coco, entries, split, ('novel', 'base'))


def test_entries_estimated_from_the_head(tmp_path):
    entries = _entries(4000)
    path = _write(tmp_path, json.dumps(entries))
    n = results_io._estimated_entries(path, len(open(path).read()))
    assert 0.9 * len(entries) < n < 1.1 * len(entries)
    # too little to go by: one entry per 40 bytes, the most there can be
    path = _write(tmp_path, json.dumps(entries[:3]))
    assert results_io._estimated_entries(path, 1000) == 26


@pytest.mark.parametrize('span', [10, 1 << 30])  # lookup table, binary search
def test_image_index_finds_the_first_position(span):
    rng = np.random.default_rng(span % 97)
    known = rng.integers(-5, span, 50)
    known[7] = known[3]  # a repeated id: its first position counts
    ids = np.r_[rng.choice(known, 200), -100, span + 5, known.max() + 1]
    img, bad = results_io._image_index(known, ids)
    first = {}
    for i, k in enumerate(known.tolist()):
        first.setdefault(k, i)
    assert bad.tolist() == [k not in first for k in ids.tolist()]
    assert img[~bad].tolist() == [first[k] for k in ids[~bad].tolist()]
    assert results_io._image_index(known[:0], ids)[1].all()

"""Fast reading of COCO results files of proposals (and of JSON files in general).

A 5,000-image x 300-proposal results file is 150 MB of JSON. ``json.load``
builds 1.5 million dicts, and Python's garbage collector runs over them again
and again while it does (most of the 6 s it takes once torch is imported);
walking the dicts into arrays adds 0.7 s. :func:`load_results` instead reads
the file in chunks of whole entries, decodes each chunk with msgspec straight
into typed structs (no dicts; unknown keys such as ``category_id`` are skipped,
not built), with the collector paused, and turns it into arrays before reading
the next; with two CPUs, the two halves of a large file at once. Peak memory is
the arrays plus one chunk, not the file or its objects: a results file larger
than memory streams through. Where evaluating its proposals would not fit
(estimated before reading), it fails with a message instead of swapping.

The answer is :func:`~owp.evaluation.functional.results.results_to_arrays`'s,
checks and error messages included: an entry that the typed decoding refuses (a
string where a number belongs, NaN, a missing key, a wrapper dict ...) sends
the whole file through ``json`` and that function, which names the entry; an
entry that decodes but fails a check (unknown image id, width <= 0 ...) is
named by the same entry-by-entry checker. Where the plain-JSON path would not
fit in memory, the error names the entry from the typed decoder's message.
"""
import contextlib
import gc
import itertools
import json
import mmap
import os
import pickle
import re
import signal
import threading
from typing import List, Mapping, Optional, Sequence, Tuple, Union

import msgspec
import numpy as np

from .batching import default_threads
from .results import _check_entry, results_to_arrays

__all__ = ['load_json', 'load_results', 'prefetch_results', 'PrefetchedResults',
           'available_memory', 'paused_gc', 'CHUNK_BYTES', 'ANNOTATION_COST']

#: Bytes read (and decoded into structs) at a time by :func:`load_results`.
CHUNK_BYTES = 128 << 10
#: Files at least this large are decoded by two processes when there are two CPUs.
PARALLEL_MIN_BYTES = 16 << 20
#: Peak memory of reading and evaluating one proposal: its arrays (48 bytes),
#: their sorted and padded copies, IoUs and matches (measured: 270 bytes on the
#: 5,000 x 300 benchmark; the margin is for denser images).
BYTES_PER_PROPOSAL = 320
#: Peak bytes of plain ``json``/msgspec objects (dicts, lists, floats) per
#: byte of JSON (measured: 6.1 on a results file, 5.6 on an annotation file).
OBJECT_BYTES_PER_BYTE = 8.0
#: Bytes of results decoded in the time one byte of an annotation file is read
#: and indexed (measured: 3.2 on the benchmark's files): the head start that
#: :func:`prefetch_results` gives the annotation file.
ANNOTATION_COST = 3
#: Image ids spanning fewer values than this are looked up in a table.
ID_TABLE_SIZE = 1 << 22
#: Memory left to the rest (Python, numpy, the ground truth).
HEADROOM_BYTES = 256 << 20


class _Proposal(msgspec.Struct, gc=False):
    """One results entry, as typed decoding reads it (other keys skipped)."""
    image_id: int
    bbox: Tuple[float, float, float, float]
    score: float


_DECODER = msgspec.json.Decoder(List[_Proposal])
_WHITESPACE = b' \t\r\n'


@contextlib.contextmanager
def paused_gc():
    """Keep the garbage collector out of a parse: nothing it builds is cyclic,
    and every collection would walk all the objects built so far."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def available_memory() -> Optional[int]:
    """Bytes this process can still allocate without swapping, or None if unknown.

    ``MemAvailable`` of ``/proc/meminfo``, lowered to what a cgroup v2 memory
    limit leaves (containers).
    """
    avail = None
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        return None
    try:
        with open('/sys/fs/cgroup/memory.max') as f:
            limit = f.read().strip()
        with open('/sys/fs/cgroup/memory.current') as f:
            used = int(f.read())
        if limit != 'max':
            left = max(int(limit) - used, 0)
            avail = left if avail is None else min(avail, left)
    except (OSError, ValueError):
        pass
    return avail


def _estimated_entries(path: str, size: int) -> int:
    """Entries of a results file, estimated from its first MiB (one ``"bbox"``
    key per entry), or at most one per 40 bytes (``{"image_id":1,"bbox":[1,1,1,1],"score":1}``)."""
    with open(path, 'rb') as f:
        head = f.read(1 << 20)
    count = head.count(b'"bbox"')
    if count < 8 or len(head) < 4096:
        return size // 40 + 1
    return int(size * count / len(head)) + 1


def _check_memory(path: str, what: str, need: float, how: str) -> None:
    """Fail before reading ``path`` when ``need`` bytes are not available."""
    avail = available_memory()
    if avail is not None and need + HEADROOM_BYTES > avail:
        size = os.path.getsize(path)
        raise MemoryError(
            f'{what} file {path!r} ({size / 2**30:.2f} GiB) needs about '
            f'{(need + HEADROOM_BYTES) / 2**30:.2f} GiB of memory {how}, but only '
            f'{avail / 2**30:.2f} GiB is available: stopped before reading it (it would '
            'swap); free memory or use a machine with more')


def load_json(path: str, what: str = 'JSON'):
    """``json.load`` of ``path``, faster: msgspec, with the garbage collector paused.

    Falls back to ``json`` for what msgspec refuses but ``json`` reads (NaN,
    Infinity, integers beyond 64 bits), so the result is ``json.load``'s.

    Raises:
        FileNotFoundError: no such file (named).
        ValueError: not valid JSON (named, with ``json``'s message).
        MemoryError: the decoded objects would not fit in memory.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{what} file {path!r} does not exist')
    _check_memory(path, what, OBJECT_BYTES_PER_BYTE * os.path.getsize(path),
                  'to hold its objects')
    with open(path, 'rb') as f:
        data = f.read()
    with paused_gc():
        try:
            return msgspec.json.decode(data)
        except msgspec.DecodeError:
            pass
        try:
            return json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f'{what} file {path!r} is not valid JSON: {e}') from None


class _Refused(Exception):
    """The typed decoder refused a chunk: ``index`` is the entry (or None)."""

    def __init__(self, index: Optional[int], message: str):
        super().__init__(message)
        self.index, self.message = index, message


def _split_point(buf: bytes) -> int:
    """End (exclusive) of the last whole entry of ``buf``, or -1: the position
    of a ``}`` followed by a comma and a ``{`` (whitespace allowed between).
    A split inside a string or a nested list leaves a chunk that does not
    decode, which sends the file to the plain-JSON path (never a wrong answer)."""
    pos = len(buf)
    while True:
        j = buf.rfind(b'}', 0, pos)
        if j < 0:
            return -1
        k = j + 1
        while k < len(buf) and buf[k] in _WHITESPACE:
            k += 1
        if k < len(buf) and buf[k] == ord(','):
            k += 1
            while k < len(buf) and buf[k] in _WHITESPACE:
                k += 1
            if k < len(buf) and buf[k] == ord('{'):
                return j + 1
        pos = j


def _chunks(f, chunk_bytes: int):
    """Yield the entries of a top-level JSON array as JSON arrays ``[e1, e2, ...]``
    of whole entries; raise :class:`_Refused` when it does not look like one.

    Each is built with one copy (a join of the brackets and a view of the
    buffer): wrapping a sliced chunk in brackets would copy it three times.
    """
    buf = f.read(chunk_bytes).lstrip(_WHITESPACE)
    if buf[:1] != b'[':
        raise _Refused(None, 'not a JSON array')
    buf = buf[1:]
    first = True
    while True:
        block = f.read(chunk_bytes)
        if not block:
            buf = buf.rstrip(_WHITESPACE)
            if buf[-1:] != b']':
                raise _Refused(None, 'the array does not end the file')
            last = buf[:-1]
            if last.strip(_WHITESPACE):
                yield b''.join((b'[', last, b']'))
            elif not first:  # a trailing comma
                raise _Refused(None, 'trailing comma')
            return
        buf += block
        end = _split_point(buf)
        if end > 0:
            yield b''.join((b'[', memoryview(buf)[:end], b']'))
            first = False
            comma = buf.index(b',', end)
            buf = buf[comma + 1:]


def _decode_stream(f, chunk_bytes: int):
    """Typed decoding of a JSON array read from ``f``: (ids, boxes, scores)."""
    ids, boxes, scores = _decode_parts(f, chunk_bytes)
    if not ids:
        return np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0)
    return np.concatenate(ids), np.concatenate(boxes), np.concatenate(scores)


def _decode_parts(f, chunk_bytes: int):
    """:func:`_decode_stream`'s arrays as lists of per-chunk arrays."""
    ids, boxes, scores = [], [], []
    for a, b, c in _decoded_chunks(f, chunk_bytes):
        ids.append(a)
        boxes.append(b)
        scores.append(c)
    return ids, boxes, scores


def _decode_into(f, chunk_bytes: int, out) -> int:
    """:func:`_decode_stream` written into ``out`` = (ids (C,), boxes (C, 4),
    scores (C,)) chunk by chunk (no concatenation); the number of entries.
    More than C entries (never, with C from :func:`_max_entries`) refuses."""
    n = 0
    # closing: the generator's paused collector is restored even if this stops early
    with contextlib.closing(_decoded_chunks(f, chunk_bytes)) as chunks:
        for a, b, c in chunks:
            k = len(a)
            if n + k > len(out[0]):
                raise _Refused(None, 'more entries than the file can hold')
            out[0][n:n + k], out[1][n:n + k], out[2][n:n + k] = a, b, c
            n += k
    return n


def _max_entries(num_bytes: int) -> int:
    """The most entries ``num_bytes`` of a results file can hold: each takes at
    least 40 bytes (``{"image_id":1,"bbox":[1,1,1,1],"score":1}`` and a comma)."""
    return num_bytes // 40 + 1


def _empty_arrays(capacity: int, buffer=None):
    """(ids (C,) int64, boxes (C, 4), scores (C,)): new, or views of ``buffer``
    (48 C bytes). Pages never written cost no memory."""
    if buffer is None:
        return np.empty(capacity, np.int64), np.empty((capacity, 4)), np.empty(capacity)
    return (np.frombuffer(buffer, np.int64, capacity, 0),
            np.frombuffer(buffer, np.float64, 4 * capacity, 8 * capacity).reshape(-1, 4),
            np.frombuffer(buffer, np.float64, capacity, 40 * capacity))


def _decoded_chunks(f, chunk_bytes: int):
    """Yield (ids (k,), boxes (k, 4), scores (k,)) per chunk of :func:`_chunks`,
    decoded typed with the garbage collector paused."""
    n = 0
    with paused_gc():
        for chunk in _chunks(f, chunk_bytes):
            try:
                props = _DECODER.decode(chunk)
            except msgspec.ValidationError as e:
                m = re.search(r'at `\$\[(\d+)\]', str(e))
                raise _Refused(n + int(m.group(1)) if m else None, str(e)) from None
            except msgspec.DecodeError as e:
                raise _Refused(None, str(e)) from None
            k = len(props)
            if k == 0:  # e.g. `[,]`: not what json reads
                raise _Refused(None, 'empty entry')
            try:
                ids = np.fromiter([p.image_id for p in props], np.int64, k)
            except OverflowError:  # beyond int64: results_to_arrays' slow path
                raise _Refused(None, 'image id beyond int64') from None
            scores = np.fromiter([p.score for p in props], np.float64, k)
            boxes = np.fromiter(itertools.chain.from_iterable([p.bbox for p in props]),
                                np.float64, 4 * k).reshape(k, 4)
            del props
            n += k
            yield ids, boxes, scores


class _Slice:
    """Bytes ``[start, stop)`` of a file, as a file: ``prefix`` first, ``suffix`` last."""

    def __init__(self, f, start: int, stop: int, prefix: bytes = b'', suffix: bytes = b''):
        f.seek(start)
        self.f, self.left, self.prefix, self.suffix = f, stop - start, prefix, suffix

    def read(self, n: int) -> bytes:
        out, self.prefix = self.prefix, b''
        if self.left > 0:
            data = self.f.read(min(n, self.left))
            self.left = self.left - len(data) if data else 0
            out += data
        if self.left <= 0:
            out, self.suffix = out + self.suffix, b''
        return out


def _comma_after(f, size: int, offset: int) -> int:
    """Offset of a comma between two entries in the MiB after ``offset``, or -1."""
    f.seek(offset)
    window = f.read(1 << 20)
    end = _split_point(window)
    return -1 if end < 0 else offset + window.index(b',', end)


class _Tail:
    """The entries after byte ``comma`` of a results file, decoded by a forked
    process meanwhile; :meth:`head` decodes the entries before it here, and
    :meth:`join` puts the two together.

    The child writes its arrays into memory shared with this process (sized for
    the most entries the tail can hold, :func:`_max_entries`; pages it never
    writes cost nothing) and sends their count through a pipe, or -1 and a
    pickled ``('refused', (index, message))`` or ``('error', text)``. The head
    is decoded straight into arrays that leave room for the tail.
    """

    def __init__(self, path: str, chunk_bytes: int, size: int, comma: int):
        self.path, self.chunk_bytes, self.comma = path, chunk_bytes, comma
        self.capacity = _max_entries(size - comma)
        self.shared = mmap.mmap(-1, 48 * self.capacity)  # anonymous, shared with the child
        self.arrays = None
        r, w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # child: decode the tail, send it, exit without cleanup
            try:
                os.close(r)
                with os.fdopen(w, 'wb') as out:
                    self._send(out, path, chunk_bytes, size, comma, self.shared,
                               self.capacity)
            finally:
                os._exit(0)
        os.close(w)
        self.inp = os.fdopen(r, 'rb')

    @staticmethod
    def _send(out, path: str, chunk_bytes: int, size: int, comma: int, shared,
              capacity: int) -> None:
        try:
            with open(path, 'rb') as f:
                n = _decode_into(_Slice(f, comma + 1, size, prefix=b'['), chunk_bytes,
                                 _empty_arrays(capacity, shared))
        except _Refused as e:
            reply = ('refused', (e.index, e.message))
        except BaseException as e:  # noqa: BLE001  (reported by the parent)
            reply = ('error', f'{type(e).__name__}: {e}')
        else:
            out.write(np.int64(n).tobytes())
            return
        out.write(np.int64(-1).tobytes())
        pickle.dump(reply, out, protocol=pickle.HIGHEST_PROTOCOL)

    def head(self) -> int:
        """Decode the entries before the comma here, into arrays with room for
        the tail's; their number."""
        self.arrays = _empty_arrays(_max_entries(self.comma) + self.capacity)
        with open(self.path, 'rb') as f:
            return _decode_into(_Slice(f, 0, self.comma, suffix=b']'), self.chunk_bytes,
                                self.arrays)

    def join(self, n1: int):
        """The whole file's (ids, boxes, scores): the ``n1`` entries of
        :meth:`head` followed by the child's."""
        try:
            head = self.inp.read(8)
            n2 = int(np.frombuffer(head, np.int64)[0]) if len(head) == 8 else -2
            if n2 < 0:
                kind, second = pickle.load(self.inp) if n2 == -1 else ('error', 'no reply')
                if kind == 'refused':
                    index, message = second
                    raise _Refused(None if index is None else n1 + index, message)
                raise RuntimeError(f'decoding the second half of {self.path!r} failed: '
                                   f'{second}')
            if n2 > self.capacity:
                raise RuntimeError(f'decoding the second half of {self.path!r} failed: '
                                   f'{n2} entries reported')
            tail = _empty_arrays(self.capacity, self.shared)
            for a, b in zip(self.arrays, tail):
                a[n1:n1 + n2] = b[:n2]
            del tail, a, b  # the shared memory's views: it can be closed
            return tuple(a[:n1 + n2] for a in self.arrays)
        finally:
            self.arrays = None
            self.close()

    def close(self, kill: bool = False) -> None:
        """Reap the child (killed first with ``kill``: its work is not wanted)."""
        if self.pid is None:
            return
        if kill:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        else:
            with contextlib.suppress(OSError):
                self.inp.read()  # let it finish writing
        self.inp.close()
        os.waitpid(self.pid, 0)
        self.pid = None
        self.shared.close()


def _decode_in_two(path: str, chunk_bytes: int, size: int):
    """:func:`_decode_stream` of the two halves of the file at once: the second
    in a forked process (:class:`_Tail`)."""
    with open(path, 'rb') as f:
        comma = _comma_after(f, size, size // 2)
    if comma < 0:
        with open(path, 'rb') as f:
            return _decode_stream(f, chunk_bytes)
    return _with_tail(_Tail(path, chunk_bytes, size, comma))


def _with_tail(tail: _Tail):
    """The head decoded here, then joined with ``tail``'s arrays."""
    try:
        first = tail.head()
    except BaseException:
        tail.close()  # the head's error comes first
        raise
    return tail.join(first)


def _can_fork(workers: int, size: int) -> bool:
    """Whether a file of ``size`` bytes is decoded by two processes: two
    workers, a large file, and no other thread running (a fork copies only
    the calling thread)."""
    return (workers >= 2 and size >= PARALLEL_MIN_BYTES and hasattr(os, 'fork') and
            threading.active_count() == 1)


class PrefetchedResults(os.PathLike):
    """A results file whose tail is being decoded by another process, started
    before this one reads the annotation file (:func:`prefetch_results`).

    It is the file's path (``os.fspath``) to everything else; :func:`load_results`
    given it decodes the head here and joins the tail. :meth:`close` (or leaving
    its ``with`` block) stops a tail that was not used.
    """

    def __init__(self, path: str, tail: Optional[_Tail] = None):
        self.path, self.tail = path, tail

    def __fspath__(self) -> str:
        return self.path

    def take(self, chunk_bytes: int) -> Optional[_Tail]:
        """The running tail decoding if it decodes in ``chunk_bytes`` chunks
        (handed over once), else None (it is stopped)."""
        tail, self.tail = self.tail, None
        if tail is not None and tail.chunk_bytes != chunk_bytes:
            tail.close(kill=True)
            tail = None
        return tail

    def close(self) -> None:
        if self.tail is not None:
            self.tail.close(kill=True)
            self.tail = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def prefetch_results(path: str, head_start: int = 0, chunk_bytes: int = CHUNK_BYTES,
                     workers: Optional[int] = None) -> PrefetchedResults:
    """Start decoding the tail of a results file in another process now.

    While this process does something else first (reads the annotation file),
    a forked process decodes the entries after about ``(size - head_start) / 2``
    bytes; :func:`load_results` then decodes the rest here and joins them.
    Nothing starts (and :func:`load_results` reads the file as usual, with the
    same checks and errors in the same order) where it would not decode in two
    processes anyway, or where its memory check would fail.

    Args:
        path: The results file.
        head_start: Bytes of results this process could decode in the time its
            other work takes (e.g. :data:`ANNOTATION_COST` x the annotation
            file's size); the tail is that much larger than the head.
        chunk_bytes, workers: As :func:`load_results`.

    Returns:
        PrefetchedResults: pass it to :func:`load_results` as the path, and
        close it (``with``) in case it is not.
    """
    workers = default_threads() if workers is None else workers
    try:
        size = os.path.getsize(path)
    except OSError:
        return PrefetchedResults(path)
    if not os.path.isfile(path) or not _can_fork(workers, size):
        return PrefetchedResults(path)
    try:
        _check_memory(path, 'results', BYTES_PER_PROPOSAL * _estimated_entries(path, size), '')
        with open(path, 'rb') as f:
            comma = _comma_after(f, size, max(size - int(head_start), 0) // 2)
    except (OSError, MemoryError):
        return PrefetchedResults(path)
    if comma < 0:
        return PrefetchedResults(path)
    return PrefetchedResults(path, _Tail(path, chunk_bytes, size, comma))


def _decode_chunks(path: str, chunk_bytes: int, workers: int = 1,
                   tail: Optional[_Tail] = None):
    """Typed decoding of the whole file: (ids, boxes, scores) arrays, file order.

    With ``workers`` >= 2, a file over :data:`PARALLEL_MIN_BYTES` and no other
    thread running (a fork copies only the calling thread), its two halves are
    decoded at once (:func:`_decode_in_two`); with ``tail`` (a prefetch's),
    the head here and that tail; the arrays are the same.
    """
    if tail is not None:
        return _with_tail(tail)
    size = os.path.getsize(path)
    if _can_fork(workers, size):
        return _decode_in_two(path, chunk_bytes, size)
    with open(path, 'rb') as f:
        return _decode_stream(f, chunk_bytes)


def _entry(path: str, index: int, chunk_bytes: int) -> Mapping:
    """Entry ``index`` of the results file as ``json`` reads it (chunk by chunk)."""
    n = 0
    with open(path, 'rb') as f:
        for chunk in _chunks(f, chunk_bytes):
            k = len(_DECODER.decode(chunk))  # decoded before: counts
            if index < n + k:
                return json.loads(chunk)[index - n]
            n += k
    raise IndexError(index)


def load_results(path: Union[str, os.PathLike], image_ids: Sequence, validate: bool = True,
                 source: str = 'results', chunk_bytes: int = CHUNK_BYTES,
                 workers: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A COCO results file of proposals as flat arrays: ``results_to_arrays``
    of its entries, read without building them.

    Args:
        path: JSON list of ``{image_id, bbox, score, ...}``, or a dict holding
            that list under ``annotations``; or :func:`prefetch_results`' handle
            of such a file (then its tail, being decoded already, is used).
        image_ids: The annotation file's image ids; their positions are the
            image indices returned.
        validate: As :func:`results_to_arrays`.
        source: Name of the results in error messages (``results[3]: ...``).
        chunk_bytes: Bytes decoded at a time.
        workers: Processes decoding a large file (at most 2; None:
            :func:`~owp.evaluation.functional.batching.default_threads`, i.e.
            ``$OWP_EVAL_THREADS`` or min(2, CPUs)). Same arrays for any value.

    Returns:
        tuple: ``img`` (D,) int64 image index, ``boxes`` (D, 4) float64 xywh,
        ``scores`` (D,) float64, in file order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not valid JSON, not a list of entries, or a bad entry
            (named as :func:`results_to_arrays` names it).
        MemoryError: evaluating its proposals (estimated from the first MiB:
            :data:`BYTES_PER_PROPOSAL` each) or, for a file that needs the
            plain-JSON path, its objects would not fit in the available memory.
    """
    tail = path.take(chunk_bytes) if isinstance(path, PrefetchedResults) else None
    path = os.fspath(path)
    try:
        if not os.path.isfile(path):
            raise FileNotFoundError(f'{source} file {path!r} does not exist')
        size = os.path.getsize(path)
        _check_memory(path, source, BYTES_PER_PROPOSAL * _estimated_entries(path, size),
                      'to evaluate its proposals')
        known = np.asarray(image_ids)
        typed = known.dtype.kind in 'iu'
        if not typed and tail is not None:
            tail.close(kill=True)
    except BaseException:
        if tail is not None:
            tail.close(kill=True)
        raise
    try:
        if not typed:
            raise _Refused(None, 'non-integer image ids in the annotation file')
        ids, boxes, scores = _decode_chunks(
            path, chunk_bytes, default_threads() if workers is None else workers, tail)
    except _Refused as refused:
        return _load_as_objects(path, image_ids, validate, source, refused)
    n = len(ids)
    if n == 0:
        return results_to_arrays([], image_ids, validate, source)
    img, bad = _image_index(known, ids)
    if validate:
        bad |= ~np.isfinite(boxes).all(axis=1) | ~np.isfinite(scores)
        bad |= (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        entry = _entry(path, i, chunk_bytes)
        _check_entry(entry, i, set(image_ids), source)
        raise ValueError(f'{source}[{i}]: invalid proposal {entry!r}')
    return img.astype(np.int64, copy=False), boxes, scores


def _image_index(known: np.ndarray, ids: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(D,) position in ``known`` (N,) of each id (the first, for a repeated
    one), and (D,) bool: id not in ``known``. A lookup table when the ids span
    at most :data:`ID_TABLE_SIZE` values (COCO, LVIS), else a binary search."""
    if len(known) == 0:
        return np.zeros(len(ids), np.int64), np.ones(len(ids), bool)
    lo, hi = int(known.min()), int(known.max())
    if hi - lo < ID_TABLE_SIZE:
        table = np.full(hi - lo + 2, -1, np.int64)  # the last slot: ids out of range
        table[(known - lo)[::-1]] = np.arange(len(known) - 1, -1, -1)  # first wins
        at = ids - lo
        at[(ids < lo) | (ids > hi)] = hi - lo + 1
        img = table[at]
        bad = img < 0
        img[bad] = 0
        return img, bad
    sorter = np.argsort(known, kind='stable')
    pos = np.searchsorted(known, ids, sorter=sorter).clip(max=len(known) - 1)
    img = sorter[pos]
    return img, ~(known[img] == ids)


def _load_as_objects(path: str, image_ids: Sequence, validate: bool, source: str,
                     refused: _Refused):
    """The plain-JSON path: ``json`` objects through :func:`results_to_arrays`."""
    try:
        _check_memory(path, source, OBJECT_BYTES_PER_BYTE * os.path.getsize(path),
                      'to read it entry by entry')
    except MemoryError as e:
        if refused.index is None:
            raise
        raise ValueError(f'{source}[{refused.index}]: {refused.message.split(" - at ")[0]} '
                         f'(the entry could not be shown: {e})') from None
    results = load_json(path, source)
    if isinstance(results, dict) and 'annotations' in results:
        results = results['annotations']
    if not isinstance(results, list):
        raise ValueError(f'{source} file {path!r} must hold a list of '
                         '{image_id, bbox, score} entries')
    return results_to_arrays(results, image_ids, validate, source)

"""Prepare an unpacked mmcv 2.1.0 source tree for a CUDA build with a new torch.

    python scripts/cuda_check/patch_mmcv.py MMCV_SRC [--ops nms,roi_align,focal_loss]

Always: ``pytorch_cuda_helper.hpp`` and ``ms_deform_attn_cuda.cu`` include
``<THC/THCAtomics.cuh>``, a header that torch 2.13's wheel does not have (no
``include/THC/`` at all); it only forwarded to ``<ATen/cuda/Atomic.cuh>``, which
is included instead. With it, nvcc 13.0 compiles mmcv 2.1.0's kernels against
torch 2.13's headers, and on an H200 machine (torch 2.11.0+cu130) all 136 sources
of mmcv 2.1.0 compiled and linked (docs/cuda_check.md).

With ``--ops``: build only those ops (what owp and mmdet's FCOS / OLN paths call:
``nms``, ``roi_align``, ``focal_loss``), to fit a short GPU lease. The C++ files of
the other ops are removed, their bindings in ``pybind.cpp`` and their CUDA
registrations in ``cudabind.cpp`` dropped, and ``mmcv.utils.ext_loader.load_ext``
no longer asserts that every op's function exists (an op left out then fails
when called, with an AttributeError naming it, instead of at import).
"""
import argparse
import os
import os.path as osp
import re

__all__ = ['split_top_level', 'patch_thc', 'prune_ops']

THC = '#include <THC/THCAtomics.cuh>'
ATOMIC = '#include <ATen/cuda/Atomic.cuh>'


def split_top_level(text):
    """Split C++ source into top-level items (declarations, definitions, macros).

    An item ends at a ``;`` outside any brace/paren, at the ``}`` closing a
    top-level brace (a trailing ``;`` joins it), or at the end of a ``#`` line.
    Comments and string literals are skipped when counting.

    Args:
        text: C++ source.

    Returns:
        list[str]: the items, concatenating back to ``text`` (whitespace included).
    """
    items, start, i, depth, paren, n = [], 0, 0, 0, 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('//', i):
            i = text.find('\n', i)
            i = n if i < 0 else i
            continue
        if text.startswith('/*', i):
            i = text.index('*/', i) + 2
            continue
        if c in '"\'':
            j = i + 1
            while text[j] != c:
                j += 2 if text[j] == '\\' else 1
            i = j + 1
            continue
        if c == '#' and depth == 0 and paren == 0 and not text[start:i].strip():
            j = text.find('\n', i)
            i = n if j < 0 else j + 1
            items.append(text[start:i])
            start = i
            continue
        if c == '(':
            paren += 1
        elif c == ')':
            paren -= 1
        elif c == '{':
            depth += 1
        elif c == '}':
            depth -= 1
            if depth == 0 and paren == 0:
                j = i + 1
                while j < n and text[j] in ' \t':
                    j += 1
                if j < n and text[j] == ';':
                    i = j
                items.append(text[start:i + 1])
                start = i + 1
        elif c == ';' and depth == 0 and paren == 0:
            items.append(text[start:i + 1])
            start = i + 1
        i += 1
    items.append(text[start:])
    return items


def _name(item):
    """The identifier before the item's first '(' (its function or macro name)."""
    m = re.search(r'(\w+)\s*(?:<[^()]*>)?\s*\(', item)
    return m.group(1) if m else None


def patch_thc(root):
    """Replace the removed THC include by ATen's atomics. Returns the files changed."""
    changed = []
    for dirpath, _, files in os.walk(osp.join(root, 'mmcv', 'ops', 'csrc')):
        for f in files:
            path = osp.join(dirpath, f)
            with open(path, encoding='utf-8') as fh:
                text = fh.read()
            if THC in text:
                with open(path, 'w', encoding='utf-8') as fh:
                    fh.write(text.replace(THC, ATOMIC))
                changed.append(osp.relpath(path, root))
    return changed


def _read(path):
    with open(path, encoding='utf-8') as fh:
        return fh.read()


def _write(path, text):
    with open(path, 'w', encoding='utf-8') as fh:
        fh.write(text)


def prune_ops(root, ops):
    """Keep only ``ops`` (stems of ``mmcv/ops/csrc/pytorch/*.cpp``) in the build.

    Returns:
        dict: kept and removed source files, kept Python bindings.
    """
    csrc = osp.join(root, 'mmcv', 'ops', 'csrc', 'pytorch')
    keep = set(ops) | {'info', 'pybind'}
    missing = [op for op in ops if not osp.exists(osp.join(csrc, f'{op}.cpp'))]
    if missing:
        raise ValueError(f'--ops: no mmcv/ops/csrc/pytorch/<op>.cpp for {missing}')
    removed, kept = [], []
    for sub, suffix in (('', '.cpp'), ('cpu', '.cpp'), ('cuda', '_cuda.cu')):
        d = osp.join(csrc, sub)
        for f in sorted(os.listdir(d)):
            if not (f.endswith('.cpp') or f.endswith('.cu')) or f == 'cudabind.cpp':
                continue
            stem = f[:-len(suffix)] if f.endswith(suffix) else None
            (kept if stem in keep else removed).append(osp.join(sub, f))
    for f in removed:
        os.remove(osp.join(csrc, f))
    kept_text = {f: _read(osp.join(csrc, f)) for f in kept if f != 'pybind.cpp'}
    cpp_text = ''.join(t for f, t in kept_text.items() if f.endswith('.cpp'))
    cu_text = ''.join(t for f, t in kept_text.items() if f.endswith('.cu'))

    def defined_in(name, text):
        return name is not None and re.search(rf'\b{name}\b', text) is not None

    # pybind.cpp: declarations and m.def(...) of functions the kept files define
    pybind = _read(osp.join(csrc, 'pybind.cpp'))
    head, _, body = pybind.partition('PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {')
    body = body[:body.rindex('}')]
    decls = [it for it in split_top_level(head)
             if it.lstrip().startswith('#') or not it.strip()
             or defined_in(_name(it), cpp_text)]
    bindings = []
    for it in split_top_level(body):
        m = re.search(r'&(\w+)', it)
        if m and defined_in(m.group(1), cpp_text):
            bindings.append(it)
    _write(osp.join(csrc, 'pybind.cpp'),
           ''.join(decls) + 'PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {' +
           ''.join(bindings) + '\n}\n')
    bound = [re.search(r'm\.def\(\s*"(\w+)"', b).group(1) for b in bindings]

    # cudabind.cpp: launchers defined in the kept .cu files, the <op>_cuda
    # functions calling only those, their registrations and _impl declarations
    path = osp.join(csrc, 'cuda', 'cudabind.cpp')
    items = split_top_level(_read(path))
    declared = {_name(it) for it in items if it.strip().endswith(';') and '{' not in it}
    launchers = {n for n in declared if defined_in(n, cu_text)}
    cuda_fns = set()
    for it in items:
        if '{' in it and not it.lstrip().startswith('REGISTER'):
            calls = set(re.findall(r'(\w+)\s*\(', it[it.index('{'):])) & declared
            if calls and calls <= launchers:
                cuda_fns.add(_name(it))
    registered = {}
    for it in items:
        m = re.match(r'\s*REGISTER_DEVICE_IMPL\(\s*(\w+)\s*,\s*CUDA\s*,\s*(\w+)\s*\)', it)
        if m and m.group(2) in cuda_fns:
            registered[m.group(1)] = it
    out = []
    for it in items:
        name = _name(it)
        if it.lstrip().startswith('#') or not it.strip():
            out.append(it)
        elif it.lstrip().startswith('REGISTER_DEVICE_IMPL'):
            if it in registered.values():
                out.append(it)
        elif name in launchers or name in cuda_fns or name in registered:
            out.append(it)
    _write(path, ''.join(out) + '\n')

    # ext_loader: a left-out op fails when called, not when mmcv.ops is imported
    loader = osp.join(root, 'mmcv', 'utils', 'ext_loader.py')
    text = _read(loader)
    old = "            assert hasattr(ext, fun), f'{fun} miss in module {name}'\n"
    if old not in text:
        raise ValueError(f'{loader}: load_ext is not the mmcv 2.1.0 one; not patched')
    _write(loader, text.replace(old, '            pass  # owp cuda check: ops subset\n'))
    return dict(kept=kept, removed=removed, bindings=bound,
                cuda_registered=sorted(registered))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('src', help='unpacked mmcv-2.1.0 source folder (holds setup.py)')
    p.add_argument('--ops', default=None,
                   help='comma-separated ops to build (e.g. nms,roi_align,focal_loss); '
                        'default: all')
    args = p.parse_args(argv)
    if not osp.exists(osp.join(args.src, 'setup.py')):
        p.error(f'{args.src}: no setup.py (expected an unpacked mmcv-2.1.0 sdist)')
    print('THC include replaced in:', patch_thc(args.src))
    if args.ops:
        info = prune_ops(args.src, [o.strip() for o in args.ops.split(',') if o.strip()])
        print(f"kept {len(info['kept'])} sources ({', '.join(info['kept'])}), "
              f"removed {len(info['removed'])}")
        print('python bindings:', ', '.join(info['bindings']))
        print('CUDA implementations:', ', '.join(info['cuda_registered']))


if __name__ == '__main__':
    main()

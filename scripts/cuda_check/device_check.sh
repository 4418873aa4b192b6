#!/usr/bin/env bash
# owp's CUDA check in one go on a GPU machine without network (docs/cuda_check.md):
#   1. install the carried wheels (mmengine, mmdet, pycocotools, ...) into /tmp/site;
#   2. build mmcv 2.1.0's ops for CUDA from its sdist (patched by patch_mmcv.py; by
#      default only the ops owp calls, MMCV_OPS='' builds all of them);
#   3. run tests/test_cuda.py;
#   4. time a shapes training on the GPU (scripts/cuda_check/time_train.py);
#   5. with the time left, try mmcv's full build (all ops) and count what compiles.
# The most valuable results come first; each stage gets a timeout from BUDGET_S.
#
#   OUT=results DEVCHECK=.devcheck bash scripts/cuda_check/device_check.sh
#   (PYTEST_ARGS='-k train' FULL_BUILD=0 TIME_ITERS=0: one test, nothing else)
#
# DEVCHECK holds: whl/*.whl, mmcv-2.1.0.tar.gz, shapes/ (a shapes dataset), and
# repo/ (the owp tree to test; default: this checkout). Writes into OUT: summary.txt,
# mmcv_build.log, pytest.log, junit.xml, time_train.log, logs.tgz, mmcv_full_build.log.
set -u -o pipefail
: "${OUT:?set OUT to a folder for the results}" "${DEVCHECK:?set DEVCHECK}"
PY=${PY:-python3}
BUDGET_S=${BUDGET_S:-540}
MMCV_OPS=${MMCV_OPS-nms,roi_align,focal_loss}
MMCV_BUILD_DIR=${MMCV_BUILD_DIR:-/tmp/owp_mmcv}
TIME_ITERS=${TIME_ITERS:-300}
DEVCHECK=$(cd "$DEVCHECK" && pwd)
REPO=${REPO:-$DEVCHECK/repo}
REPO=$(cd "$REPO" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
start=$(date +%s)
left() { echo $(( BUDGET_S - ($(date +%s) - start) )); }
# seconds left minus a reserve for the later stages, at least 5 (timeout 0 = no limit)
cap() { local s=$(( $(left) - $1 )); [ "$s" -lt 5 ] && s=5; echo "$s"; }
say() { echo "[t=$(( $(date +%s) - start ))s] $*" | tee -a "$OUT/summary.txt"; }

cd "$REPO" || exit 1
say "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1)"
say "$($PY -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1)"
say "$(nvcc --version 2>&1 | tail -2 | head -1); $(gcc --version 2>&1 | head -1); nproc $(nproc)"

# 1. wheels
if [ -d "$DEVCHECK/whl" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
    "$DEVCHECK"/whl/*.whl >> "$OUT/summary.txt" 2>&1 || { say "FAIL: wheel install"; exit 1; }
  export PYTHONPATH=/tmp/site
  say "wheels installed: $(ls "$DEVCHECK/whl" | sed 's/-py.*\|-cp3.*//' | tr '\n' ' ')"
fi

# 2. mmcv with CUDA ops
# torch takes CUDA_HOME from `which nvcc`/../..; a wrapper script in /usr/local/bin
# would give /usr/local: look for the toolkit that holds the compiler and headers.
if [ -z "${CUDA_HOME:-}" ]; then
  for d in /usr/local/cuda /usr/local/cuda-* "$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")"; do
    if [ -x "$d/bin/nvcc" ] && [ -f "$d/include/cuda_runtime.h" ]; then export CUDA_HOME=$d; break; fi
  done
fi
# -lcudart needs an unversioned libcudart.so in CUDA_HOME/lib64 (or lib)
if ! ls "${CUDA_HOME:-/nonexistent}"/lib64/libcudart.so "${CUDA_HOME:-/nonexistent}"/lib/libcudart.so >/dev/null 2>&1; then
  rt=$(find /usr /opt -name 'libcudart.so*' 2>/dev/null | head -1)
  if [ -n "$rt" ]; then mkdir -p /tmp/owp_cudart && ln -sf "$rt" /tmp/owp_cudart/libcudart.so \
    && export LIBRARY_PATH=/tmp/owp_cudart${LIBRARY_PATH:+:$LIBRARY_PATH}; fi
fi
# ATen/cuda/CUDAContext.h includes cuBLAS/cuSPARSE/cuSOLVER headers: with pip's CUDA
# libraries they sit in site-packages/nvidia/*/include, outside CUDA_HOME
nv_inc=$($PY -c 'import glob, os, nvidia; print(":".join(d for p in nvidia.__path__ for d in glob.glob(os.path.join(p, "*", "include"))))' 2>/dev/null)
[ -n "$nv_inc" ] && export CPATH=$nv_inc${CPATH:+:$CPATH}
say "CUDA_HOME=${CUDA_HOME:-unset} LIBRARY_PATH=${LIBRARY_PATH:-} cusparse.h: $(ls ${CUDA_HOME:-/x}/include/cusparse.h $(echo "$nv_inc" | tr ':' ' ' | sed 's#\([^ ]*\)#\1/cusparse.h#g') 2>/dev/null | head -2 | tr '\n' ' ')"
src=$MMCV_BUILD_DIR/mmcv-2.1.0
if [ ! -d "$src" ]; then
  mkdir -p "$MMCV_BUILD_DIR" && tar xzf "$DEVCHECK/mmcv-2.1.0.tar.gz" -C "$MMCV_BUILD_DIR"
  $PY scripts/cuda_check/patch_mmcv.py "$src" ${MMCV_OPS:+--ops "$MMCV_OPS"} \
    >> "$OUT/mmcv_build.log" 2>&1 || { say "FAIL: patch_mmcv.py"; tail -5 "$OUT/mmcv_build.log"; exit 1; }
fi
t0=$(date +%s)
# -allow-unsupported-compiler: nvcc refuses a newer gcc than it was tested with
(cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=${FORCE_CUDA:-1} MMCV_CUDA_ARGS=${MMCV_CUDA_ARGS--allow-unsupported-compiler} TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} \
  MAX_JOBS=${MAX_JOBS:-16} timeout $(cap 150) $PY setup.py build_ext --inplace \
  >> "$OUT/mmcv_build.log" 2>&1)
rc=$?
say "mmcv build (ops: ${MMCV_OPS:-all}): exit $rc after $(( $(date +%s) - t0 ))s"
if [ $rc -ne 0 ]; then grep -n -i -m 20 "error" "$OUT/mmcv_build.log"; tail -20 "$OUT/mmcv_build.log"; exit 1; fi
export PYTHONPATH=$src:$REPO${PYTHONPATH:+:$PYTHONPATH}
say "$($PY -c 'import mmcv, mmcv.ops, mmdet, mmengine; print("stack: mmcv", mmcv.__version__, "CUDA", mmcv.ops.get_compiling_cuda_version(), "mmdet", mmdet.__version__, "mmengine", mmengine.__version__)' 2>&1 | tail -3 | tr '\n' ' ')"

# 3. the CUDA check
t0=$(date +%s)
timeout $(cap 70) $PY -m pytest -q -rA tests/test_cuda.py --basetemp=/tmp/owp_ptc \
  --junitxml="$OUT/junit.xml" ${PYTEST_ARGS:-} > "$OUT/pytest.log" 2>&1
rc=$?
say "pytest tests/test_cuda.py: exit $rc after $(( $(date +%s) - t0 ))s"
grep -E "^(PASSED|FAILED|ERROR|SKIPPED)|passed|failed" "$OUT/pytest.log" | tee -a "$OUT/summary.txt"
$PY - "$OUT/junit.xml" <<'PYEOF' 2>&1 | tee -a "$OUT/summary.txt"
import sys, xml.etree.ElementTree as ET
for case in ET.parse(sys.argv[1]).iter('testcase'):
    props = {p.get('name'): p.get('value') for p in case.iter('property')}
    if props:
        print(case.get('name'), {k: v[:400] for k, v in props.items()})
PYEOF
(cd /tmp/owp_ptc 2>/dev/null && find . -name '*.log' | tar czf "$OUT/logs.tgz" -T -)

# 4. s/it of the shapes FCOS config on this GPU (TIME_ITERS=0: skipped)
[ "$TIME_ITERS" -gt 0 ] && {
t0=$(date +%s)
timeout $(cap 5) $PY scripts/cuda_check/time_train.py \
  configs/shapes/fcos_r18-tiny_fpn_1k_shapes.py "$DEVCHECK/shapes/" /tmp/owp_time \
  --iters "$TIME_ITERS" > "$OUT/time_train.log" 2>&1
rc=$?
say "time_train: exit $rc after $(( $(date +%s) - t0 ))s: $(tail -1 "$OUT/time_train.log")"
}
# 5. with the time left: mmcv 2.1.0 with ALL its CUDA ops (does the full build work
# with this CUDA/torch?); ninja keeps going past failures (-k 0) so every failing
# file shows, and the count of compiled objects says how far it got
if [ "${FULL_BUILD:-1}" = 1 ] && [ "$(left)" -gt 90 ]; then
  full=/tmp/owp_mmcv_full && rm -rf $full && mkdir -p $full /tmp/owp_ninja
  tar xzf "$DEVCHECK/mmcv-2.1.0.tar.gz" -C $full
  $PY scripts/cuda_check/patch_mmcv.py $full/mmcv-2.1.0 >> "$OUT/mmcv_full_build.log" 2>&1
  real_ninja=$(command -v ninja || $PY -c 'import ninja, os; print(os.path.join(ninja.BIN_DIR, "ninja"))')
  printf '#!/bin/sh\nexec %s -k 0 "$@"\n' "$real_ninja" > /tmp/owp_ninja/ninja && chmod +x /tmp/owp_ninja/ninja
  t0=$(date +%s)
  (cd $full/mmcv-2.1.0 && PATH=/tmp/owp_ninja:$PATH MMCV_WITH_OPS=1 FORCE_CUDA=${FORCE_CUDA:-1} \
    MMCV_CUDA_ARGS=${MMCV_CUDA_ARGS--allow-unsupported-compiler} \
    TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} MAX_JOBS=${MAX_JOBS:-16} \
    timeout $(cap 8) $PY setup.py build_ext --inplace >> "$OUT/mmcv_full_build.log" 2>&1)
  rc=$?
  n_src=$(find $full/mmcv-2.1.0/mmcv/ops/csrc/pytorch -name '*.cpp' -o -name '*.cu' | grep -v -e /mlu/ -e /mps/ -e /npu/ | wc -l)
  n_obj=$(find $full/mmcv-2.1.0/build -name '*.o' 2>/dev/null | wc -l)
  say "full mmcv build (all ops): exit $rc after $(( $(date +%s) - t0 ))s (124 = stopped by the budget), $n_obj of $n_src objects compiled, failed: $(grep -c '^FAILED' "$OUT/mmcv_full_build.log")"
  grep '^FAILED' "$OUT/mmcv_full_build.log" | sed 's#.*/pytorch/##' | head -20 | tee -a "$OUT/summary.txt"
fi
say "done"

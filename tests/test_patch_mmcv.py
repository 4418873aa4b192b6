"""scripts/cuda_check/patch_mmcv.py: the C++ splitter and the mmcv ops pruning, on a
miniature mmcv source tree laid out like mmcv 2.1.0's."""
import importlib.util
import os.path as osp

import pytest
from conftest import REPO

spec = importlib.util.spec_from_file_location(
    'patch_mmcv', osp.join(REPO, 'scripts', 'cuda_check', 'patch_mmcv.py'))
patch_mmcv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(patch_mmcv)

PYBIND = '''#include <torch/extension.h>

std::string get_compiler_version();
Tensor nms(Tensor boxes, Tensor scores, float iou_threshold, int offset);
void carafe_forward(Tensor features, Tensor masks, Tensor output);
template <unsigned NDim>
std::vector<Tensor> get_indice_pairs(Tensor indices);

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("get_compiler_version", &get_compiler_version, "get_compiler_version");
  m.def("nms", &nms, "nms (CPU/CUDA); x", py::arg("boxes"), py::arg("scores"));
  m.def("carafe_forward", &carafe_forward, "carafe_forward", py::arg("features"));
  m.def("get_indice_pairs_2d", &get_indice_pairs<2>, "pairs", py::arg("indices"));
}
'''
CUDABIND = '''#include "pytorch_cpp_helper.hpp"
#include "pytorch_device_registry.hpp"

Tensor NMSCUDAKernelLauncher(Tensor boxes, Tensor scores, float iou_threshold,
                             int offset);

Tensor nms_cuda(Tensor boxes, Tensor scores, float iou_threshold, int offset) {
  return NMSCUDAKernelLauncher(boxes, scores, iou_threshold, offset);
}

Tensor nms_impl(Tensor boxes, Tensor scores, float iou_threshold, int offset);
REGISTER_DEVICE_IMPL(nms_impl, CUDA, nms_cuda);

void CARAFEForwardCUDAKernelLauncher(Tensor features, Tensor masks, Tensor output);

void carafe_forward_cuda(Tensor features, Tensor masks, Tensor output) {
  CARAFEForwardCUDAKernelLauncher(features, masks, output);
};

void carafe_forward_impl(Tensor features, Tensor masks, Tensor output);
REGISTER_DEVICE_IMPL(carafe_forward_impl, CUDA, carafe_forward_cuda);
'''
FILES = {
    'setup.py': '',
    'mmcv/utils/ext_loader.py': (
        "    def load_ext(name, funcs):\n"
        "        ext = importlib.import_module('mmcv.' + name)\n"
        "        for fun in funcs:\n"
        "            assert hasattr(ext, fun), f'{fun} miss in module {name}'\n"
        "        return ext\n"),
    'mmcv/ops/csrc/common/pytorch_cuda_helper.hpp': '#include <THC/THCAtomics.cuh>\n',
    'mmcv/ops/csrc/pytorch/pybind.cpp': PYBIND,
    'mmcv/ops/csrc/pytorch/info.cpp': 'std::string get_compiler_version() { return ""; }\n',
    'mmcv/ops/csrc/pytorch/nms.cpp': 'Tensor nms(Tensor boxes, Tensor scores, float t, int o) {}\n',
    'mmcv/ops/csrc/pytorch/carafe.cpp': 'void carafe_forward(Tensor f, Tensor m, Tensor o) {}\n',
    'mmcv/ops/csrc/pytorch/cpu/nms.cpp': 'Tensor nms_cpu(Tensor b) {}\n',
    'mmcv/ops/csrc/pytorch/cuda/nms_cuda.cu': 'Tensor NMSCUDAKernelLauncher(Tensor b) {}\n',
    'mmcv/ops/csrc/pytorch/cuda/carafe_cuda.cu': 'void CARAFEForwardCUDAKernelLauncher() {}\n',
    'mmcv/ops/csrc/pytorch/cuda/cudabind.cpp': CUDABIND,
}


@pytest.fixture
def mini_mmcv(tmp_path):
    for rel, text in FILES.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_split_top_level_items():
    text = ('#include <a.h>\n// a; comment {\nint f(int x);\n'
            'void g() { if (1) { h(";}"); } };\n/* ; } */ int y = 3;\n')
    items = patch_mmcv.split_top_level(text)
    assert ''.join(items) == text
    assert [i.strip() for i in items if i.strip()] == [
        '#include <a.h>', '// a; comment {\nint f(int x);',
        'void g() { if (1) { h(";}"); } };', '/* ; } */ int y = 3;']


def test_patch_thc(mini_mmcv):
    changed = patch_mmcv.patch_thc(str(mini_mmcv))
    assert changed == ['mmcv/ops/csrc/common/pytorch_cuda_helper.hpp']
    text = (mini_mmcv / changed[0]).read_text()
    assert '<ATen/cuda/Atomic.cuh>' in text and 'THC' not in text


def test_prune_ops_keeps_exactly_the_ops(mini_mmcv):
    info = patch_mmcv.prune_ops(str(mini_mmcv), ['nms'])
    csrc = mini_mmcv / 'mmcv' / 'ops' / 'csrc' / 'pytorch'
    assert not (csrc / 'carafe.cpp').exists() and not (csrc / 'cuda' / 'carafe_cuda.cu').exists()
    assert (csrc / 'nms.cpp').exists() and (csrc / 'cpu' / 'nms.cpp').exists()
    assert info['bindings'] == ['get_compiler_version', 'nms']
    pybind = (csrc / 'pybind.cpp').read_text()
    assert 'carafe' not in pybind and 'get_indice_pairs' not in pybind
    assert '"nms (CPU/CUDA); x"' in pybind and pybind.rstrip().endswith('}')
    cudabind = (csrc / 'cuda' / 'cudabind.cpp').read_text()
    assert info['cuda_registered'] == ['nms_impl']
    assert 'REGISTER_DEVICE_IMPL(nms_impl, CUDA, nms_cuda);' in cudabind
    assert 'return NMSCUDAKernelLauncher' in cudabind and 'CARAFE' not in cudabind
    assert 'carafe' not in cudabind
    loader = (mini_mmcv / 'mmcv' / 'utils' / 'ext_loader.py').read_text()
    assert 'assert hasattr' not in loader


def test_prune_ops_names_an_unknown_op(mini_mmcv):
    with pytest.raises(ValueError, match=r"\['roi_align'\]"):
        patch_mmcv.prune_ops(str(mini_mmcv), ['nms', 'roi_align'])

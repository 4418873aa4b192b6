"""Checks of COCO / LVIS annotation files and their images, with errors that name the entry.

mmdet's datasets fail on a bad file deep inside pycocotools, the LVIS API or the
data pipeline (a ``JSONDecodeError`` without the file name, a ``KeyError: 123``
for an unknown category id, ``AssertionError: failed to load image`` minutes into
training), or not at all (an LVIS file read as COCO trains on the few LVIS
categories whose names happen to be COCO's). :class:`AnnotationCheckMixin`, the
base of owp's datasets, checks the file once when the dataset is built, before
training, and raises :class:`DataFileError` naming the file and the entry.

Policy (mmdet keeps and clips what it can, see ``docs/design.md``):

* not JSON / truncated, no ``images``/``annotations``/``categories`` list, an
  LVIS file where a COCO one is expected (or the reverse): error;
* an annotation whose image id or category id is not in the file, whose
  ``bbox`` is not 4 finite numbers with ``w, h >= 0``, or that lies entirely
  outside its image (no overlap with ``[0, width] x [0, height]``; mmdet would
  drop it silently, which hides a wrong ``width``/``height`` or image id): error;
* a box partly outside its image by more than :data:`BOX_TOLERANCE` pixels:
  a warning in the log (the count and the first entries); training keeps it and mmdet's
  ``Resize`` clips it to the image (``clip_object_border=True``), as for COCO,
  whose own boxes overshoot by a fraction of a pixel at times;
* a missing image file (local files): error when the dataset is built;
  a file that does not decode as an image: error at that sample, naming it.
"""
import json
import logging
import math
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence

import mmcv
from mmengine.fileio import get
from mmengine.logging import print_log

__all__ = ['AnnotationCheckMixin', 'DataFileError', 'MissingDataFileError', 'BOX_TOLERANCE',
           'check_annotation_dict', 'check_image_files', 'detect_format', 'load_annotation_file']

#: Pixels a box may extend past its image before a warning (COCO's own boxes
#: overshoot by a fraction of a pixel at times).
BOX_TOLERANCE = 1.0
#: How many offending entries a message lists.
MAX_LISTED = 5
_NUMBER = (int, float)


class DataFileError(ValueError):
    """A data file (annotation file or image) that cannot be used; names file and entry."""


class MissingDataFileError(DataFileError, FileNotFoundError):
    """An annotation or image file that does not exist (also a ``FileNotFoundError``)."""


def _listed(items: Sequence[str]) -> str:
    more = f' (and {len(items) - MAX_LISTED} more)' if len(items) > MAX_LISTED else ''
    return '; '.join(items[:MAX_LISTED]) + more


def load_annotation_file(path: str, backend_args: Optional[dict] = None) -> dict:
    """Read an annotation file, failing with the file name on anything but a JSON object.

    Args:
        path (str): The file (any mmengine backend).
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        dict: The parsed file.

    Raises:
        DataFileError: Missing file, not UTF-8 JSON (e.g. truncated), not an object.
    """
    try:
        raw = get(path, backend_args=backend_args)
    except FileNotFoundError:
        raise MissingDataFileError(f'annotation file {path!r} does not exist') from None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        hint = ' (truncated?)' if isinstance(e, json.JSONDecodeError) and \
            e.pos >= len(raw.rstrip()) - 1 else ''
        raise DataFileError(f'annotation file {path!r} is not valid JSON{hint}: {e}') from None
    if not isinstance(data, dict):
        raise DataFileError(f'annotation file {path!r} must hold a JSON object with images, '
                            f'annotations and categories, not a {type(data).__name__}')
    return data


def detect_format(data: dict) -> str:
    """``'lvis'`` if the categories carry ``frequency`` or the images LVIS's
    ``not_exhaustive_category_ids``, else ``'coco'``."""
    cats, images = data.get('categories') or [], data.get('images') or []
    lvis = any(isinstance(c, dict) and 'frequency' in c for c in cats[:50]) or \
        any(isinstance(im, dict) and 'not_exhaustive_category_ids' in im for im in images[:50])
    return 'lvis' if lvis else 'coco'


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_annotation_dict(data: dict, path: str, expected: Optional[str] = None) -> List[str]:
    """Check a parsed COCO/LVIS annotation file; raise on errors, return warnings.

    Args:
        data (dict): The parsed file.
        path (str): Its name, for the messages.
        expected (str, optional): ``'coco'`` or ``'lvis'``: the format the
            dataset reads (an LVIS file given to a COCO dataset is an error).

    Returns:
        list[str]: Warnings (boxes partly outside their image).

    Raises:
        DataFileError: The first kind of error found, with up to
            :data:`MAX_LISTED` offending entries (index in the file and id).
    """
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(data.get(key), list):
            raise DataFileError(f'{path}: no {key!r} list (a COCO/LVIS annotation file has '
                                'images, annotations and categories)')
    fmt = detect_format(data)
    if expected is not None and fmt != expected:
        if expected == 'coco':
            raise DataFileError(
                f'{path}: this is an LVIS file (categories carry "frequency"), given to a '
                'COCO dataset; use OWPLVISV1Dataset (configs/_base_/datasets/lvis-freq.py)')
        raise DataFileError(
            f'{path}: this is a COCO file (no category carries LVIS\'s "frequency"), given '
            'to an LVIS dataset; use CocoDataset / OWPCocoDataset '
            '(configs/_base_/datasets/coco-voc.py)')

    def ids(key: str, what: str) -> Dict[int, int]:
        out: Dict[int, int] = {}
        bad, dup = [], []
        for i, entry in enumerate(data[key]):
            eid = entry.get('id') if isinstance(entry, dict) else None
            if not isinstance(eid, int) or isinstance(eid, bool):
                bad.append(f'{key}[{i}] id={eid!r}')
            elif eid in out:
                dup.append(f'{key}[{i}] id={eid}')
            else:
                out[eid] = i
        if bad:
            raise DataFileError(f'{path}: {what} without an integer id: {_listed(bad)}')
        if dup:
            raise DataFileError(f'{path}: duplicate {what} ids: {_listed(dup)}')
        return out

    img_index = ids('images', 'image')
    cat_index = ids('categories', 'category')
    bad_size = [f'images[{i}] id={im["id"]} width={im.get("width")!r} '
                f'height={im.get("height")!r}'
                for i, im in enumerate(data['images'])
                if not (_is_number(im.get('width')) and _is_number(im.get('height'))
                        and im['width'] > 0 and im['height'] > 0)]
    if bad_size:
        raise DataFileError(f'{path}: images without a positive width/height: '
                            f'{_listed(bad_size)}')

    # One pass; messages are formatted for the offending entries only (LVIS v1
    # train has 1.27M annotations).
    anns = data['annotations']
    sizes = [(im['width'], im['height']) for im in data['images']]
    no_image, no_cat, bad_box, outside, partly = [], [], [], [], []
    for i, ann in enumerate(anns):
        if type(ann) is not dict:
            bad_box.append(i)
            continue
        im_i = img_index.get(ann.get('image_id'))
        if im_i is None:
            no_image.append(i)
            continue
        if ann.get('category_id') not in cat_index:
            no_cat.append(i)
        box = ann.get('bbox')
        if type(box) is not list or len(box) != 4:
            bad_box.append(i)
            continue
        x, y, w, h = box
        # exact types: no bool, no str; x - x == 0 fails for nan and inf
        if not (type(x) in _NUMBER and type(y) in _NUMBER and type(w) in _NUMBER
                and type(h) in _NUMBER and w >= 0 and h >= 0 and x - x == 0 and y - y == 0
                and w - w == 0 and h - h == 0):
            bad_box.append(i)
            continue
        W, H = sizes[im_i]
        # (a box of zero width or height inside its image is mmdet's to drop)
        if x >= W or y >= H or (x + w <= 0 < w) or (y + h <= 0 < h):
            outside.append(i)
        elif -x > BOX_TOLERANCE or -y > BOX_TOLERANCE or x + w - W > BOX_TOLERANCE or \
                y + h - H > BOX_TOLERANCE:
            partly.append(i)

    def where(i: int, extra: str = '') -> str:
        ann = anns[i]
        if type(ann) is not dict:
            return f'annotations[{i}] is a {type(ann).__name__}'
        text = f'annotations[{i}] (id={ann.get("id")!r}, image_id={ann.get("image_id")!r})'
        if extra == 'bbox':
            return f'{text} bbox={ann.get("bbox")!r}'
        if extra == 'image':
            im = data['images'][img_index[ann['image_id']]]
            return f'{text} bbox={ann["bbox"]} in a {im["width"]}x{im["height"]} image'
        if extra == 'category':
            return f'{text} category_id={ann.get("category_id")!r}'
        return text

    def listed(idx: List[int], extra: str = '') -> str:
        text = '; '.join(where(i, extra) for i in idx[:MAX_LISTED])
        return text + (f' (and {len(idx) - MAX_LISTED} more)' if len(idx) > MAX_LISTED else '')

    if no_image:
        raise DataFileError(f'{path}: annotations of image ids that are not in "images": '
                            f'{listed(no_image)}')
    if no_cat:
        raise DataFileError(f'{path}: annotations whose category_id is not in "categories": '
                            f'{listed(no_cat, "category")}')
    if bad_box:
        raise DataFileError(f'{path}: bbox must be [x, y, w, h], 4 finite numbers with '
                            f'w, h >= 0: {listed(bad_box, "bbox")}')
    if outside:
        raise DataFileError(f'{path}: boxes entirely outside their image (wrong width/height '
                            f'or image_id?): {listed(outside, "image")}')
    if partly:
        return [f'{path}: {len(partly)} boxes extend more than {BOX_TOLERANCE:g} px past '
                f'their image; they are clipped to it: {listed(partly, "image")}']
    return []


def check_image_files(data_list: Iterable[dict], ann_file: str) -> None:
    """Fail when image files named by ``data_list`` (mmdet's ``img_path``) are missing.

    Only local paths are checked (a remote backend would need a request per file).

    Raises:
        DataFileError: Naming the missing files and their image ids.
    """
    missing = [f'{info["img_path"]} (image id {info.get("img_id")})' for info in data_list
               if '://' not in str(info['img_path']) and not osp.isfile(info['img_path'])]
    if missing:
        raise MissingDataFileError(f'{ann_file}: {len(missing)} image files do not exist: '
                            f'{_listed(missing)}')


class AnnotationCheckMixin:
    """Check the annotation file and image files of an mmdet COCO/LVIS dataset.

    Mixed in before ``CocoDataset`` / ``LVISV1Dataset``. The file is parsed once,
    by mmdet; its parsed dict is checked after mmdet's ``load_data_list``. When
    mmdet fails first (not JSON, an unknown category id, an LVIS file without
    ``file_name``), the file is read again and checked, so that the error names
    the entry; a failure the checks do not explain is raised unchanged.

    Args:
        check_images (bool): Fail when image files are missing (local files),
            when the dataset is built. Defaults to True.
    """

    def __init__(self, *args, check_images: bool = True, **kwargs) -> None:
        self.check_images = check_images
        super().__init__(*args, **kwargs)

    def _expected_format(self) -> str:
        from mmdet.datasets import LVISV05Dataset
        return 'lvis' if isinstance(self, LVISV05Dataset) else 'coco'

    def __delattr__(self, name: str) -> None:
        # mmdet's load_data_list ends with `del self.coco` / `del self.lvis`:
        # keep the parsed file until it is checked.
        if name in ('coco', 'lvis') and not hasattr(self, '_parsed_ann'):
            self._parsed_ann = getattr(self, name).dataset
        super().__delattr__(name)

    def _check_file(self, data: dict) -> None:
        for msg in check_annotation_dict(data, self.ann_file, self._expected_format()):
            # mmengine's logger: the console and the run's log file (owp's scripts
            # and many launch scripts silence Python warnings)
            print_log(msg, logger='current', level=logging.WARNING)

    def load_data_list(self) -> List[dict]:
        try:
            data_list = super().load_data_list()
        except Exception as e:
            # explain mmdet's failure by the file's entry (this raises), or re-raise it
            self._check_file(load_annotation_file(self.ann_file, self.backend_args))
            raise e
        parsed = self.__dict__.pop('_parsed_ann', None)
        if parsed is not None:
            self._check_file(parsed)
        if self.check_images and not self.backend_args:
            check_image_files(data_list, self.ann_file)
        return data_list

    def prepare_data(self, idx: int):
        try:
            return super().prepare_data(idx)
        except Exception as e:
            info = self.get_data_info(idx)
            path = info.get('img_path')
            if path is not None and _undecodable(path, self.backend_args):
                raise DataFileError(f'{self.ann_file}: image id {info.get("img_id")}: '
                                    f'{path!r} is not an image file that can be decoded '
                                    f'({type(e).__name__}: {e})') from e
            raise


def _undecodable(path: str, backend_args: Optional[dict]) -> bool:
    try:
        return mmcv.imfrombytes(get(path, backend_args=backend_args)) is None
    except FileNotFoundError:
        return False  # a missing file is named by mmengine's own error
    except Exception:
        return True

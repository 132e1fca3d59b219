"""NonMaxSuppression.

Greedy per (batch, class): walk candidates in descending score order (ties
by box index); each selected box suppresses, in one vectorised IoU pass, the
remaining candidates it overlaps by more than ``iou_threshold``.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel


def corners(boxes: np.ndarray, center_point_box: int) -> np.ndarray:
    """``[n, 4]`` boxes -> ``[n, 4]`` as (y_min, x_min, y_max, x_max) in float64."""
    b = boxes.astype(np.float64)
    if center_point_box:
        xc, yc, w, h = b.T
        return np.stack([yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2], axis=1)
    y = np.sort(b[:, [0, 2]], axis=1)
    x = np.sort(b[:, [1, 3]], axis=1)
    return np.stack([y[:, 0], x[:, 0], y[:, 1], x[:, 1]], axis=1)


def iou_suppressed(box: np.ndarray, others: np.ndarray, threshold: float) -> np.ndarray:
    ih = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    iw = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    inter = np.where((ih > 0) & (iw > 0), ih * iw, 0.0)
    area_a = (box[2] - box[0]) * (box[3] - box[1])
    area_b = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area_a + area_b - inter
    ok = (inter > 0) & (area_a > 0) & (area_b > 0) & (union > 0)
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=ok)
    return ok & (iou > threshold)


def select(boxes: np.ndarray, scores: np.ndarray, limit: int, iou_thr: float, score_thr) -> list[int]:
    cand = np.argsort(-scores, kind="stable")
    if score_thr is not None:
        cand = cand[scores[cand] > score_thr]
    chosen: list[int] = []
    while cand.size and len(chosen) < limit:
        best = cand[0]
        chosen.append(int(best))
        rest = cand[1:]
        cand = rest[~iou_suppressed(boxes[best], boxes[rest], iou_thr)]
    return chosen


def _scalar(value, default):
    if value is None or value.size == 0:
        return default
    return value.reshape(-1)[0].item()


@kernel("NonMaxSuppression")
class NonMaxSuppression(Kernel):
    def run(self, boxes, scores, max_output_boxes_per_class=None, iou_threshold=None, score_threshold=None):
        limit = max(int(_scalar(max_output_boxes_per_class, 0)), 0)
        iou_thr = float(_scalar(iou_threshold, 0.0))
        score_thr = _scalar(score_threshold, None)
        center = self.attrs.get("center_point_box", 0)
        rows = []
        if limit:
            for b in range(boxes.shape[0]):
                bx = corners(boxes[b], center)
                for c in range(scores.shape[1]):
                    for i in select(bx, scores[b, c], limit, iou_thr, score_thr):
                        rows.append((b, c, i))
        return (np.array(rows, dtype=np.int64).reshape(-1, 3),)

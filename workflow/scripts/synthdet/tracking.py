"""Continuous track ids across detection keyframes of a video.

Every `detect_every` frames the detector runs again. Its detections are matched to the
live tracks by mask IoU (greedy, best pair first); a matched detection keeps the
track's id, an unmatched one starts a new track with the next id, so ids are never
reused within a video.
"""

import numpy as np


def keyframes(frame_count, detect_every):
    return list(range(0, frame_count, detect_every))


def match(iou, threshold):
    """Greedy one-to-one matching of detections (rows) to tracks (columns).

    Returns {detection index: track column} for pairs with IoU >= threshold.
    """
    iou = np.asarray(iou, dtype=np.float64)
    pairs = {}
    if iou.size == 0:
        return pairs
    order = np.dstack(np.unravel_index(np.argsort(-iou, axis=None), iou.shape))[0]
    used_rows, used_cols = set(), set()
    for row, col in order:
        if iou[row, col] < threshold:
            break
        if row in used_rows or col in used_cols:
            continue
        pairs[int(row)] = int(col)
        used_rows.add(row)
        used_cols.add(col)
    return pairs


def assign_ids(detection_count, live_track_ids, iou, threshold, next_id):
    """Track id for each detection, and the next free id.

    `iou` is (detections x live tracks); `live_track_ids[col]` is the id of column col.
    """
    pairs = match(iou, threshold)
    ids = []
    for row in range(detection_count):
        if row in pairs:
            ids.append(live_track_ids[pairs[row]])
        else:
            ids.append(next_id)
            next_id += 1
    return ids, next_id


def new_track():
    return {"scores": [], "detected_at": [], "masks": {}}


def merge_duplicates(detections, threshold, iou):
    """One detection per object: a detection whose mask overlaps a better one's by
    `threshold` or more is the same object (synonyms, or two classes on one object);
    its class scores are merged in (per-class max) and it starts no track of its own."""
    order = sorted(range(len(detections)), key=lambda i: -max(detections[i][0]))
    kept = []
    for index in order:
        scores, mask = detections[index]
        if kept:
            overlaps = iou([mask], [m for _, m in kept])[0]
            best = int(np.argmax(overlaps))
            if overlaps[best] >= threshold:
                kept[best] = (list(np.maximum(kept[best][0], scores)), kept[best][1])
                continue
        kept.append((list(scores), mask))
    return kept


def track_video(frame_count, detect, propagate, detect_every, match_iou, reverse,
                iou=None, present=None):  # fmt: skip
    """Track objects through a video with continuous ids.

    detect(frame) -> list of (class scores, mask) above the candidate floor.
    propagate(start, {track id: mask at start}, count, reverse) ->
        {frame: {track id: mask}} for frames start..start+count (or back to start-count).
    `iou(masks_a, masks_b)` and `present(mask)` work on whatever a mask is (default:
    bool arrays). Returns {track id: {"scores", "detected_at", "masks": {frame: mask}}};
    every frame's mask comes from tracking, never copied from a keyframe.
    """
    iou = iou or mask_iou
    present = present or (lambda mask: mask.any())
    tracks, next_id = {}, 0
    for key in keyframes(frame_count, detect_every):
        detections = merge_duplicates(detect(key), match_iou, iou)
        live = [t for t in tracks if key in tracks[t]["masks"] and present(tracks[t]["masks"][key])]
        overlaps = iou([m for _, m in detections], [tracks[t]["masks"][key] for t in live])
        ids, next_id = assign_ids(len(detections), live, overlaps, match_iou, next_id)
        seeds = {}
        for (scores, mask), track_id in zip(detections, ids):
            track = tracks.setdefault(track_id, new_track())
            track["scores"].append(scores)
            track["detected_at"].append(key)
            seeds[track_id] = mask
        for track_id in live:  # keep following objects the detector missed this time
            seeds.setdefault(track_id, tracks[track_id]["masks"][key])
        if not seeds:
            continue
        # Through the next keyframe inclusive: matching there needs the tracked masks.
        count = min(detect_every, frame_count - 1 - key)
        for frame, masks in propagate(key, seeds, count, False).items():
            for track_id, mask in masks.items():
                tracks[track_id]["masks"][frame] = mask
    if reverse:
        fill_backwards(tracks, propagate)
    return tracks


def fill_backwards(tracks, propagate):
    """Label objects in the frames before they were first detected."""
    born = {}
    for track_id, track in tracks.items():
        first = track["detected_at"][0]
        if first > 0:
            born.setdefault(first, []).append(track_id)
    for start, track_ids in sorted(born.items()):
        seeds = {t: tracks[t]["masks"][start] for t in track_ids}
        for frame, masks in propagate(start, seeds, start, True).items():
            for track_id, mask in masks.items():
                tracks[track_id]["masks"].setdefault(frame, mask)


def mask_iou(masks_a, masks_b):
    """IoU of bool masks (rows: masks_a, columns: masks_b)."""
    if not masks_a or not masks_b:
        return np.zeros((len(masks_a), len(masks_b)))
    a = np.stack([m.reshape(-1) for m in masks_a]).astype(np.float32)
    b = np.stack([m.reshape(-1) for m in masks_b]).astype(np.float32)
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)

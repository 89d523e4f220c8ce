"""Continuous track ids across detection keyframes of a video, and when a track ends.

Every `detect_every` frames the detector runs again. Its detections are matched to the
live tracks by mask IoU (greedy, best pair first); a matched detection keeps the
track's id, an unmatched one starts a new track with the next id, so ids are never
reused within a video.

The lifecycle (README, "Labeling"):
- SAM 2 is re-seeded from the keyframe's detections, as Grounded-SAM-2's continuous-id
  demo does. A detection vouches for its window: the frames from its keyframe up to the
  next keyframe.
- A live track no detection matches at a keyframe is carried on its own tracked mask,
  for at most `max_missed` keyframes in a row. Carried frames are kept only when a later
  detection confirms the track again; otherwise the track ends at the last frame of its
  last confirmed window. So a one-off false detection labels its window and no more.
- A track whose tracked mask becomes empty (the object left the frame) ends at the frame
  before, and no keyframe revives it: an object that comes back is a new track.
- reverse: a track also labels the frames before its first detection, back to (not
  including) the keyframe before it, where the detector looked and did not find it, and
  stopping where its mask is empty (the object entered there).
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


def new_track(key):
    """A track; `until` is the last frame of its last confirmed window."""
    return {"scores": [], "detected_at": [], "masks": {}, "missed": 0, "ended": False, "until": key}


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


def track_video(
    frame_count,
    detect,
    propagate,
    detect_every,
    match_iou,
    reverse,
    max_missed=1,
    iou=None,
    present=None,
):
    """Track objects through a video with continuous ids (lifecycle: module docstring).

    detect(frame) -> list of (class scores, mask) above the candidate floor.
    propagate(start, {track id: mask at start}, count, reverse) ->
        {frame: {track id: mask}} for frames start..start+count (or back to start-count).
    `iou(masks_a, masks_b)` and `present(mask)` work on whatever a mask is (default:
    bool arrays). Returns {track id: {"scores", "detected_at", "masks": {frame: mask}}},
    with a mask for every frame the track labels and for no other; every mask comes
    from tracking, never copied from a keyframe.
    """
    iou = iou or mask_iou
    present = present or (lambda mask: mask.any())
    tracks, next_id = {}, 0
    for key in keyframes(frame_count, detect_every):
        window_end = min(key + detect_every, frame_count) - 1
        detections = merge_duplicates(detect(key), match_iou, iou)
        live = [t for t, track in tracks.items() if not track["ended"] and key in track["masks"]]
        overlaps = iou([m for _, m in detections], [tracks[t]["masks"][key] for t in live])
        ids, next_id = assign_ids(len(detections), live, overlaps, match_iou, next_id)
        seeds = {}
        for (scores, mask), track_id in zip(detections, ids):
            track = tracks.setdefault(track_id, new_track(key))
            track["scores"].append(scores)
            track["detected_at"].append(key)
            track["missed"], track["until"] = 0, window_end
            seeds[track_id] = mask
        for track_id in sorted(set(live) - set(ids)):
            track = tracks[track_id]
            track["missed"] += 1
            if track["missed"] > max_missed:
                track["ended"] = True
            else:  # carried: kept only if a later detection confirms it
                seeds[track_id] = track["masks"][key]
        if seeds:
            # Through the next keyframe inclusive: matching there needs the tracked masks.
            count = min(detect_every, frame_count - 1 - key)
            record(tracks, propagate(key, seeds, count, False), present, forwards=True)
    for track in tracks.values():
        track["masks"] = {f: m for f, m in track["masks"].items() if f <= track["until"]}
    if reverse:
        fill_backwards(tracks, propagate, detect_every, present)
    return {
        t: {k: track[k] for k in ("scores", "detected_at", "masks")} for t, track in tracks.items()
    }


def record(tracks, propagated, present, forwards):
    """Store propagated masks frame by frame, ending a track at its first empty mask."""
    for frame in sorted(propagated, reverse=not forwards):
        for track_id, mask in propagated[frame].items():
            track = tracks[track_id]
            if track["ended"]:
                continue
            if present(mask):
                track["masks"][frame] = mask
            else:  # the object left the frame (or, backwards, had not yet entered)
                track["ended"] = True
                if forwards:
                    track["until"] = min(track["until"], frame - 1)


def fill_backwards(tracks, propagate, detect_every, present):
    """Label objects in the frames between the keyframe before their first detection
    (exclusive) and that detection."""
    born = {}
    for track_id, track in tracks.items():
        first = track["detected_at"][0]
        if first > 0 and first in track["masks"]:
            born.setdefault(first, []).append(track_id)
    for start, track_ids in sorted(born.items()):
        seeds = {t: tracks[t]["masks"][start] for t in track_ids}
        backwards = {t: {"masks": {}, "ended": False} for t in track_ids}
        propagated = propagate(start, seeds, detect_every - 1, True)
        propagated.pop(start, None)  # the detection's own frame is labeled already
        record(backwards, propagated, present, forwards=False)
        for track_id, state in backwards.items():
            tracks[track_id]["masks"].update(state["masks"])


def mask_iou(masks_a, masks_b):
    """IoU of bool masks (rows: masks_a, columns: masks_b)."""
    if not masks_a or not masks_b:
        return np.zeros((len(masks_a), len(masks_b)))
    a = np.stack([m.reshape(-1) for m in masks_a]).astype(np.float32)
    b = np.stack([m.reshape(-1) for m in masks_b]).astype(np.float32)
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)

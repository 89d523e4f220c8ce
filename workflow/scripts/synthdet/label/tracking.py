"""Continuous track ids across detection keyframes of a video, windows and who vouches for them.

Every `detect_every` frames the detector runs again (a keyframe). The lifecycle
(docs/labeling.md, "Track lifecycle"), decided here on the GPU stage's candidates, at the
candidate floor:

- Detections of one keyframe whose masks overlap by `duplicate_iou` or more are one object
  (synonyms, two classes on one thing): merged, per-class max of their scores.
- A detection confirms the live track whose tracked mask it overlaps by `match_iou` or more
  (one to one, best pair first) and re-seeds it; any other detection starts a new track with
  the next id (ids are never reused in a video). SAM 2 is re-seeded at each keyframe from that
  keyframe's detections, as Grounded-SAM-2's continuous-id demo does.
- A window is the frames from a keyframe up to the next one. A track's window is vouched for
  by the detection that confirmed it there; the CPU stage keeps a window only when that
  detection passes the user's thresholds (label_filter).
- A live track no detection confirms is carried on its own tracked mask for at most
  `max_missed` keyframes in a row (its carried windows have no detection). It is not
  carried where a new detection overlaps it by `switch_iou` or more: the detector looked
  there and saw the object differently, so SAM 2's guess yields and the identity switches
  once, from the old id to the new one, never back. Carried frames are kept only when a
  later detection confirms the track; otherwise it ends at the last frame of its last
  confirmed window.
- No two tracks label one object: on any frame where two tracks' masks overlap by
  `duplicate_iou` or more, the one carried there (else the younger) ends the frame before.
- A track whose tracked mask becomes empty (the object left the frame) ends at the frame
  before, and no keyframe revives it: an object that comes back is a new track.
- reverse: a track also labels the frames before its first detection, back to (not
  including) the keyframe before it, where the detector looked and did not find it; it
  stops where its mask is empty (the object entered there) or overlaps another track's by
  `switch_iou` or more.
  Those frames are a window vouched for by the first detection.
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
    """A track; `until` is the last frame of its last confirmed window."""
    return {
        "scores": [],
        "detected_at": [],
        "windows": [],
        "masks": {},
        "missed": 0,
        "ended": False,
        "until": -1,
    }


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
    duplicate_iou=0.5,
    switch_iou=0.2,
    iou=None,
    present=None,
):
    """Track objects through a video with continuous ids (lifecycle: module docstring).

    detect(frame) -> list of (class scores, mask) above the candidate floor.
    propagate(start, {track id: mask at start}, count, reverse) ->
        {frame: {track id: mask}} for frames start..start+count (or back to start-count).
    `iou(masks_a, masks_b)` and `present(mask)` work on whatever a mask is (default:
    bool arrays). Returns {track id: {"scores", "detected_at", "windows", "masks"}}:
    `scores[i]` are the class scores of the detection at keyframe `detected_at[i]`; each
    window is {"first", "last", "detection"} (frames, inclusive; the index of the detection
    that vouches for it, None where the track was carried); `masks` has a mask for every
    frame the track labels and for no other, every one from tracking, never copied from a
    keyframe.
    """
    iou = iou or mask_iou
    present = present or (lambda mask: mask.any())
    tracks, next_id = {}, 0
    for key in keyframes(frame_count, detect_every):
        window = {"first": key, "last": min(key + detect_every, frame_count) - 1}
        detections = merge_duplicates(detect(key), duplicate_iou, iou)
        live = [t for t, track in tracks.items() if not track["ended"] and key in track["masks"]]
        overlaps = iou([m for _, m in detections], [tracks[t]["masks"][key] for t in live])
        ids, next_id = assign_ids(len(detections), live, overlaps, match_iou, next_id)
        seeds = {}
        for (scores, mask), track_id in zip(detections, ids):
            confirm(tracks.setdefault(track_id, new_track()), key, window, scores)
            seeds[track_id] = mask
        new_rows = [row for row, track_id in enumerate(ids) if track_id not in live]
        carried = set()
        for column, track_id in enumerate(live):
            if track_id in ids:
                continue
            track = tracks[track_id]
            track["missed"] += 1
            seen_differently = any(overlaps[row, column] >= switch_iou for row in new_rows)
            if seen_differently or track["missed"] > max_missed:
                track["ended"] = True
            else:  # carried: kept only if a later detection confirms it
                track["windows"].append({**window, "detection": None})
                seeds[track_id] = track["masks"][key]
                carried.add(track_id)
        if seeds:
            # Through the next keyframe inclusive: matching there needs the tracked masks.
            count = min(detect_every, frame_count - 1 - key)
            propagated = propagate(key, seeds, count, False)
            record(tracks, propagated, present, carried, duplicate_iou, iou)
    for track in tracks.values():
        cut_to(track, track["until"])
    if reverse and detect_every > 1:
        fill_backwards(tracks, propagate, detect_every, present, iou, switch_iou)
    return {
        t: {k: track[k] for k in ("scores", "detected_at", "windows", "masks")}
        for t, track in tracks.items()
    }


def confirm(track, key, window, scores):
    """A detection at `key` confirms the track: it vouches for the window from `key`."""
    track["windows"].append({**window, "detection": len(track["scores"])})
    track["scores"].append(scores)
    track["detected_at"].append(key)
    track["missed"], track["until"] = 0, window["last"]


def cut_to(track, last):
    """Drop a track's frames and windows after `last` (carried frames never confirmed)."""
    track["masks"] = {f: m for f, m in track["masks"].items() if f <= last}
    track["windows"] = [{**w, "last": min(w["last"], last)} for w in track["windows"]]
    track["windows"] = [w for w in track["windows"] if w["first"] <= w["last"]]


def end(track, frame):
    """The track labels nothing from `frame` on."""
    track["ended"] = True
    track["until"] = min(track["until"], frame - 1)


def record(tracks, propagated, present, carried, duplicate_iou, iou):
    """Store propagated masks frame by frame, ending a track at its first empty mask or
    where it gives way to another track on the same object."""
    for frame in sorted(propagated):
        here = {}
        for track_id, mask in sorted(propagated[frame].items()):
            if tracks[track_id]["ended"]:
                continue
            if present(mask):
                here[track_id] = mask
            else:  # the object left the frame
                end(tracks[track_id], frame)
        for track_id in giving_way(here, carried, duplicate_iou, iou):
            end(tracks[track_id], frame)
            del here[track_id]
        for track_id, mask in here.items():
            tracks[track_id]["masks"][frame] = mask


def giving_way(masks, carried, threshold, iou):
    """Of tracks whose masks on one frame overlap by `threshold` or more (one object), all
    but one give way: a carried track to a confirmed one, else the younger to the older."""
    order = sorted(masks, key=lambda t: (t in carried, t))
    overlaps = iou([masks[t] for t in order], [masks[t] for t in order])
    kept, losers = [], []
    for row, track_id in enumerate(order):
        if any(overlaps[row, other] >= threshold for other in kept):
            losers.append(track_id)
        else:
            kept.append(row)
    return losers


def fill_backwards(tracks, propagate, detect_every, present, iou, switch_iou):
    """Label objects in the frames between the keyframe before their first detection
    (exclusive) and that detection, stopping where the mask is empty or overlaps another
    track's by `switch_iou`: a window vouched for by the first detection."""
    born = {}
    for track_id, track in tracks.items():
        first = track["detected_at"][0]
        if first > 0 and first in track["masks"]:
            born.setdefault(first, []).append(track_id)
    for start, track_ids in sorted(born.items()):
        seeds = {t: tracks[t]["masks"][start] for t in track_ids}
        propagated = propagate(start, seeds, detect_every - 1, True)
        propagated.pop(start, None)  # the detection's own frame is labeled already
        stopped = set()
        for frame in sorted(propagated, reverse=True):
            for track_id, mask in sorted(propagated[frame].items()):
                if track_id in stopped:
                    continue
                taken = overlap_with_others(tracks, track_id, frame, mask, iou) >= switch_iou
                if not present(mask) or taken:
                    stopped.add(track_id)  # the object entered here, or it is another's
                    continue
                tracks[track_id]["masks"][frame] = mask
        for track_id in track_ids:
            labeled = [f for f in tracks[track_id]["masks"] if f < start]
            if labeled:
                window = {"first": min(labeled), "last": start - 1, "detection": 0}
                tracks[track_id]["windows"].insert(0, window)


def overlap_with_others(tracks, track_id, frame, mask, iou):
    """The largest IoU of `mask` with another track's mask on `frame` (0 if none)."""
    others = [t["masks"][frame] for o, t in tracks.items() if o != track_id and frame in t["masks"]]
    return float(np.max(iou([mask], others))) if others else 0.0


def mask_iou(masks_a, masks_b):
    """IoU of bool masks (rows: masks_a, columns: masks_b)."""
    if not masks_a or not masks_b:
        return np.zeros((len(masks_a), len(masks_b)))
    a = np.stack([m.reshape(-1) for m in masks_a]).astype(np.float32)
    b = np.stack([m.reshape(-1) for m in masks_b]).astype(np.float32)
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)

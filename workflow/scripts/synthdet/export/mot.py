"""MOTChallenge-style ground truth, one sequence per video, for users who train trackers.

mot/<side>/seed<S>_<prompt id>/ holds what MOTChallenge, CVAT's "MOT 1.1" and Datumaro's
`mot_seq` format read:
- img1/000001.jpg ...: every extracted frame of the video, numbered from 1;
- gt/gt.txt: `frame,id,x,y,w,h,conf,class,visibility`, one line per object and frame;
  frame from 1, id the dataset-wide track id (the COCO export's `track_id`), the box in
  pixels as COCO's (0-based left and top, floats), conf 1 (MOT's "consider this box" flag
  of ground truth; the label's score is in COCO), class the 1-based line of
  gt/labels.txt, visibility 1 (SAM 2 gives no occlusion level);
- gt/labels.txt: the class names, one a line, in the ontology's order (class k on line k
  is COCO's category k);
- seqinfo.ini: name, imDir, frameRate (the rate frames were cut), seqLength, imWidth,
  imHeight, imExt.
A sequence keeps every frame, objects or not: a tracker needs the gaps. With
`empty_images: skip` a video with no object in any frame is left out.
"""

from ..core.atomic import staged_dir, write_text
from .naming import EMPTY_SKIP, dataset_ids, labeled_items, link_or_copy
from .identity import frame_id, object_track_id, video_frames, video_key, video_name
from .split import TEST, TRAIN, side_of_seed

GT_FIELDS = ("frame", "id", "x", "y", "w", "h", "conf", "class", "visibility")


def number(value):
    """A pixel coordinate as gt.txt holds it: whole numbers without a point, others to
    1/1000 px."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.3f}".rstrip("0")


def sequences(items):
    """{(seed, prompt id): that video's frames in frame order}, each checked to hold
    frames 0..n-1 (img1/ must hold every frame a reader counts from seqLength)."""
    videos = {}
    for item in video_frames(items):
        videos.setdefault(video_key(item), []).append(item)
    for key, frames in videos.items():
        frames.sort(key=frame_id)
        found = [frame_id(frame) for frame in frames]
        if found != list(range(len(frames))):
            raise ValueError(
                f"video {video_name(frames[0])}: the labels hold frames {found}, "
                "not every frame from 0; a MOT sequence needs each one"
            )
    return videos


def gt_lines(frames, category, tracks):
    lines = []
    for frame in frames:
        for obj in sorted(frame["objects"], key=lambda o: object_track_id(frame, o, tracks)):
            x1, y1, x2, y2 = obj["box"]
            fields = [
                frame_id(frame) + 1,
                object_track_id(frame, obj, tracks),
                number(x1),
                number(y1),
                number(x2 - x1),
                number(y2 - y1),
                1,
                category[obj["class"]],
                1,
            ]
            lines.append(",".join(map(str, fields)) + "\n")
    return lines


def seqinfo(frames, fps):
    first = frames[0]
    rate = int(fps) if float(fps).is_integer() else fps
    return (
        "[Sequence]\n"
        f"name={video_name(first)}\nimDir=img1\nframeRate={rate}\nseqLength={len(frames)}\n"
        f"imWidth={first['width']}\nimHeight={first['height']}\nimExt=.jpg\n"
    )


def write_sequence(folder, frames, classes, tracks, fps):
    category = {name: index + 1 for index, name in enumerate(classes)}
    (folder / "img1").mkdir(parents=True)
    (folder / "gt").mkdir()
    for frame in frames:
        link_or_copy(frame["image"], folder / "img1" / f"{frame_id(frame) + 1:06d}.jpg")
    lines = gt_lines(frames, category, tracks)
    write_text(folder / "gt" / "gt.txt", "".join(lines))
    write_text(folder / "gt" / "labels.txt", "".join(f"{name}\n" for name in classes))
    write_text(folder / "seqinfo.ini", seqinfo(frames, fps))
    return len(lines)


def export_mot(label_paths, out_dir, empty_images, split_settings, fps, shard=0):
    """mot/train/ and mot/test/, one sequence folder per video, split by seed as every
    export is; `shard` numbers the tracks of one export shard (`identity.py`). Returns the
    number of sequences per side and of gt lines."""
    items, classes = labeled_items(label_paths)
    tracks = dataset_ids(items, shard)["tracks"]
    counts = {TRAIN: 0, TEST: 0, "objects": 0}
    with staged_dir(out_dir) as stage:
        for side in (TRAIN, TEST):
            (stage / side).mkdir()
        for (seed, _), frames in sorted(sequences(items).items()):
            if empty_images == EMPTY_SKIP and not any(frame["objects"] for frame in frames):
                continue
            side = side_of_seed(seed, split_settings)
            folder = stage / side / video_name(frames[0])
            counts["objects"] += write_sequence(folder, frames, classes, tracks, fps)
            counts[side] += 1
    return counts

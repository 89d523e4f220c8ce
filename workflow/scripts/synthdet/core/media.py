"""Image and video files: checks, encoding and frame extraction through ffmpeg.

ffmpeg is always called with an argv list (never a shell), and no string from a
prompt or config reaches its command line. It reads a video only as an MP4 file: through
the `file` protocol alone (a path like `concat:a|b` or a URL is no protocol to it) and
the MP4 demuxer alone (a playlist or concat list named .mp4 is not followed).

Images are decoded only as the format their extension promises (a .jpg as JPEG): Pillow
would otherwise read any of its formats under any name.
"""

import contextlib
import functools
import re
import shutil
import subprocess
from pathlib import Path

from PIL import Image

MP4_SIGNATURE = b"ftyp"


def ffmpeg_executable():
    """ffmpeg from PATH (a conda env or the system), else the one bundled in imageio-ffmpeg."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        raise RuntimeError(
            "ffmpeg not found: install it (conda env envs/ffmpeg.yaml, apt's ffmpeg, "
            "or pip's imageio-ffmpeg)"
        ) from None
    return imageio_ffmpeg.get_ffmpeg_exe()


IMAGE_FORMATS = {".jpg": ("JPEG",), ".jpeg": ("JPEG",), ".png": ("PNG",), ".gif": ("GIF",)}


def open_image(path):
    """PIL.Image.open, limited to the format `path`'s extension promises. Raises
    PIL.UnidentifiedImageError for other data (GIF data named .jpg) and ValueError for an
    extension that promises no image format; callers record both as a bad image."""
    formats = IMAGE_FORMATS.get(Path(path).suffix.lower())
    if formats is None:
        raise ValueError(f"{Path(path).suffix or 'no extension'} is not an image extension")
    return Image.open(path, formats=formats)


def image_problem(path):
    """None when `path` is a complete, decodable image; else why not."""
    path = Path(path)
    if not path.is_file():
        return "missing"
    if path.stat().st_size == 0:
        return "empty file"
    try:
        with open_image(path) as image:
            image.load()  # decodes every pixel: a truncated JPEG fails here, not later
    except Exception as error:  # PIL raises several types for broken files
        return f"not a decodable image: {error}"
    return None


def image_size(path):
    with open_image(path) as image:
        return image.size


def video_problem(path):
    """None when `path` looks like an MP4 file; decoding is checked when frames are cut."""
    path = Path(path)
    if not path.is_file():
        return "missing"
    if path.stat().st_size == 0:
        return "empty file"
    with open(path, "rb") as handle:
        head = handle.read(12)
    if head[4:8] != MP4_SIGNATURE:
        return "not an MP4 file (no ftyp box)"
    return None


# MPEG-4 Part 2 is built into every ffmpeg (conda-forge's LGPL build has no x264): the
# codec of the stand-in's videos, which only ffmpeg reads back.
MPEG4 = ("-c:v", "mpeg4", "-q:v", "2", "-pix_fmt", "yuv420p")


def encode_video(frames, path, fps, width, height, codec=MPEG4):
    """Encode RGB uint8 arrays (height x width x 3), an iterable, into an MP4 at `fps`."""
    command = [
        ffmpeg_executable(),
        "-v",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{width}x{height}",
        "-r",
        str(fps),
        "-i",
        "-",
        *codec,
        str(path),
    ]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for frame in frames:
            process.stdin.write(frame.tobytes())
    except BrokenPipeError:
        pass  # ffmpeg stopped reading: its exit code and message say why
    finally:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
    stderr = process.stderr.read().decode("utf-8", "replace")
    if process.wait() != 0:
        raise RuntimeError(f"ffmpeg could not encode {path}: {stderr.strip()[-2000:]}")


@functools.cache
def browser_codec():
    """ffmpeg arguments for MP4 video a browser plays: H.264 (x264, else OpenH264) in
    yuv420p with the index up front; MPEG-4 Part 2 when this ffmpeg has neither."""
    listed = subprocess.run(
        [ffmpeg_executable(), "-hide_banner", "-encoders"], capture_output=True, text=True
    ).stdout
    for encoder in ("libx264", "libopenh264"):
        if re.search(rf"^\s*V\S*\s+{encoder}\s", listed, re.M):
            return ("-c:v", encoder, "-pix_fmt", "yuv420p", "-movflags", "+faststart")
    return MPEG4


def select_expression(indices):
    """An ffmpeg `select` filter keeping exactly the given frame numbers."""
    return "select=" + "+".join(f"eq(n\\,{int(index)})" for index in indices)


def ffmpeg_input(path):
    """`path` as ffmpeg's input: `file:` and absolute, so no part of it (a leading `-`, a
    `name:` prefix) is read as an option or a protocol."""
    return "file:" + str(Path(path).absolute())


def extract_frames(video, out_dir, indices):
    """Write the frames numbered `indices` of `video` as out_dir/00000.jpg, 00001.jpg, ...

    Returns the number of frames written (fewer than asked when the video is short).
    Raises RuntimeError with ffmpeg's message when the video cannot be decoded.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        ffmpeg_executable(),
        "-v",
        "error",
        "-nostdin",
        "-y",
        "-protocol_whitelist",
        "file",
        "-f",
        "mp4",
        "-i",
        ffmpeg_input(video),
        "-vf",
        select_expression(indices),
        "-fps_mode",
        "passthrough",  # one file per selected frame, no duplicates
        "-q:v",
        "2",
        "-start_number",
        "0",
        str(out_dir / "%05d.jpg"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, errors="replace")
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip()[-2000:] or f"ffmpeg exited {result.returncode}")
    return len(list(out_dir.glob("*.jpg")))

"""Decode images ahead of the GPU on background threads (PIL releases the GIL)."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..core.media import open_image


def decode_rgb(path):
    """(array HxWx3 uint8, None) or (None, reason): a bad file never stops the batch."""
    try:
        with open_image(path) as image:
            image.load()
            if image.mode != "RGB":
                image = image.convert("RGB")  # grayscale, RGBA, palette
            return np.asarray(image), None
    except Exception as error:  # PIL raises several types for broken files
        return None, f"unreadable image: {error}"


def prefetched(items, path_of, workers=2, ahead=8):
    """Yield (item, array, problem) in order while the next `ahead` images decode."""
    items = list(items)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = [pool.submit(decode_rgb, path_of(item)) for item in items[:ahead]]
        for index, item in enumerate(items):
            if index + ahead < len(items):
                pending.append(pool.submit(decode_rgb, path_of(items[index + ahead])))
            array, problem = pending[index].result()
            pending[index] = None  # let the decoded image go once used
            yield item, array, problem

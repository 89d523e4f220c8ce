"""How a retried GPU job asks for less memory (light: imported when Snakemake plans)."""


def boxes_per_call(attempt, first=0):
    """SAM 2 boxes per call on a job's `attempt`: `first` (0: all boxes of an image at
    once) on the first try, then 16, then 4 after CUDA out-of-memory errors."""
    return first if attempt <= 1 else max(1, 64 // 4 ** (attempt - 1))


def images_per_batch(attempt, first):
    """Images per detector batch on a job's `attempt`: `first` (labeling.batch_size), then
    halved on each retry after a CUDA out-of-memory error, down to 1."""
    return max(1, first // 2 ** (attempt - 1))

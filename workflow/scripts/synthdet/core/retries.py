"""How a retried GPU job asks for less memory (light: imported when Snakemake plans)."""


def boxes_per_call(attempt, first=0):
    """SAM 2 boxes per call on a job's `attempt`: `first` (0: all boxes of an image at
    once) on the first try, then 16, then 4 after CUDA out-of-memory errors."""
    return first if attempt <= 1 else max(1, 64 // 4 ** (attempt - 1))

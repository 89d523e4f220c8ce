"""The colours shared by the procedural generator (one per class) and the drawings that
mark classes or tracks (QA contact sheets, tracking videos)."""

PALETTE = (
    (214, 39, 40),
    (31, 119, 180),
    (255, 187, 20),
    (44, 160, 44),
    (148, 103, 189),
    (255, 127, 14),
    (23, 190, 207),
    (140, 86, 75),
)

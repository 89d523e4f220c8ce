"""Per-dataset statistics with pandas, and a plot of them."""

import pandas as pd

from ..core.atomic import read_json, replaced, write_json, write_text
from ..core.records import read_labels
from ..export.naming import export_name
from .summary import critic_counts, stage_counts


def objects_table(items):
    rows = [
        {
            "kind": item["kind"],
            "class": obj["class"],
            "score": obj["score"],
            "width": obj["box"][2] - obj["box"][0],
            "height": obj["box"][3] - obj["box"][1],
        }
        for item in items
        for obj in item["objects"]
    ]
    table = pd.DataFrame(rows, columns=["kind", "class", "score", "width", "height"])
    table["area"] = table["width"] * table["height"]
    return table


def per_class(table, classes):
    grouped = table.groupby("class")
    summary = pd.DataFrame(
        {
            "objects": grouped.size(),
            "score_mean": grouped["score"].mean(),
            "score_min": grouped["score"].min(),
            "area_median": grouped["area"].median(),
        }
    )
    return summary.reindex(classes).fillna({"objects": 0}).astype({"objects": int})


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISING_PREFIX = "'"


def csv_text_cell(text):
    """A text cell no spreadsheet runs: one that starts a formula gets a leading "'". So
    does one that starts with "'" itself, so that reading drops exactly one leading "'"
    from every cell that has one (csv_text_value) and gets the name back."""
    if text.startswith(FORMULA_STARTS + (NEUTRALISING_PREFIX,)):
        return NEUTRALISING_PREFIX + text
    return text


def csv_text_value(cell):
    """The text csv_text_cell was given."""
    return cell.removeprefix(NEUTRALISING_PREFIX)


def class_legend(axes, handles, names):
    """A legend that shows each class name as it is: no maths text for `$...$`, and no
    name dropped for starting with "_" (matplotlib's mark for artists to leave out)."""
    legend = axes.legend(handles, names)
    for text in legend.get_texts():
        text.set_parse_math(False)
    return legend


def plot(table, classes, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (scores, sizes) = plt.subplots(1, 2, figsize=(10, 4))
    handles, names = [], []
    for name in classes:
        chosen = table[table["class"] == name]
        if len(chosen):
            *_, patches = scores.hist(chosen["score"], bins=20, range=(0, 1), alpha=0.6)
            sizes.hist(chosen["area"] ** 0.5, bins=20, alpha=0.6)
            handles.append(patches)
            names.append(name)
    scores.set(title="label scores", xlabel="score", ylabel="objects")
    sizes.set(title="box sizes", xlabel="sqrt(box area) in pixels", ylabel="objects")
    if handles:
        class_legend(scores, handles, names)
    figure.tight_layout()
    with replaced(path) as temporary:  # never a half-written plot
        figure.savefig(temporary, dpi=100)
    plt.close(figure)


def labeled_objects(label_paths):
    """The objects table (objects_table) of every part, the counts of images, frames, items
    without objects and skipped items, and the classes: one part's labels in memory at a
    time (with their masks, a dataset's labels are many GB)."""
    tables, classes = [], None
    counts = {"image": 0, "frame": 0, "empty": 0, "skipped": 0}
    for path in label_paths:
        labels = read_labels(path)
        items = sorted(labels["items"], key=export_name)  # as labeled_items orders them
        classes = labels["classes"] or classes
        tables.append(objects_table(items))
        counts["image"] += sum(item["kind"] == "image" for item in items)
        counts["frame"] += sum(item["kind"] == "frame" for item in items)
        counts["empty"] += sum(not item["objects"] for item in items)
        counts["skipped"] += len(labels["skipped"])
        del labels, items  # before the next part is read
    filled = [table for table in tables if len(table)]
    if len(filled) > 1:
        return pd.concat(filled, ignore_index=True), counts, classes or []
    return (filled or tables or [objects_table([])])[0], counts, classes or []


def dataset_stats(label_paths, manifests, evaluation_path, out):
    """`manifests` maps a stage to its manifest paths; `out` maps json/csv/plot to paths."""
    table, counts, classes = labeled_objects(label_paths)
    classes_table = per_class(table, classes)
    csv_table = classes_table.rename(index=csv_text_cell)
    write_text(out["csv"], csv_table.to_csv(index_label="class"))
    plot(table, classes, out["plot"])
    stats = {
        "images": counts["image"],
        "frames": counts["frame"],
        "objects": int(len(table)),
        "objects_per_class": {c: int(n) for c, n in classes_table["objects"].items()},
        "items_without_objects": counts["empty"],
        "score_quantiles": (
            table["score"].quantile([0.1, 0.5, 0.9]).round(4).tolist() if len(table) else []
        ),
        "box_area_quantiles": (
            table["area"].quantile([0.1, 0.5, 0.9]).round(1).tolist() if len(table) else []
        ),
        "upstream": {stage: stage_counts(paths) for stage, paths in manifests.items()},
        "skipped_by_labeling": counts["skipped"],
    }
    critic = critic_counts(manifests, label_paths)
    if critic:
        stats["critic"] = critic
    if evaluation_path:
        stats["evaluation"] = read_json(evaluation_path)
    write_json(out["json"], stats)
    return stats

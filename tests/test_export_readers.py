"""The exports opened by the tools people use them with, as a new user would: Ultralytics
on the YOLO folders (its dataset check and a `val` run of a random-weight model)."""

import json
import os
import subprocess
import sys

import pytest

from synthdet import exports
from test_exports import labels  # noqa: F401 (a fixture)

SEED_0_TESTS = {"test_fraction": 0.5, "seed": 3}  # seed 0 (3 objects) on the test side

# Runs in its own process: Ultralytics reads its settings and environment at import.
ULTRALYTICS_VAL = """
import json, sys
from ultralytics import YOLO
from ultralytics.data.utils import check_det_dataset

task, model = sys.argv[1], sys.argv[2]
data = check_det_dataset(f"{task}/data.yaml", autodownload=False)
metrics = YOLO(model, task=task).val(
    data=f"{task}/data.yaml", imgsz=64, batch=2, device="cpu", plots=False, workers=0,
    project=sys.argv[3], verbose=False,
)
print(json.dumps({"train": data["train"], "val": data["val"], "names": data["names"],
                  "keys": sorted(metrics.results_dict)}))
"""


@pytest.mark.parametrize(
    "task, model", [("detect", "yolov8n.yaml"), ("segment", "yolov8n-seg.yaml")]
)
def test_ultralytics_opens_and_validates_the_yolo_folders(
    labels, tmp_path, task, model
):  # noqa: F811
    pytest.importorskip("ultralytics", reason="ultralytics is pinned in requirements.txt")
    exports.export_yolo([labels], tmp_path / "yolo", "unlabeled", SEED_0_TESTS)
    # Offline: no weight, font or update downloads; settings in the test's folder.
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": str(tmp_path / "settings")}
    run = subprocess.run(
        [sys.executable, "-c", ULTRALYTICS_VAL, task, model, str(tmp_path / "runs")],
        cwd=tmp_path / "yolo",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    # The folder is its own root (data.yaml has no `path:`): the splits resolve inside it.
    assert result["train"] == str(tmp_path / "yolo" / task / "images" / "train")
    assert result["val"] == str(tmp_path / "yolo" / task / "images" / "test")
    assert list(result["names"].values()) == ["can", "a&b <c> \"q\" 'x' $(id) `ls` ü"]
    assert "2 images, 0 backgrounds, 0 corrupt" in run.stdout + run.stderr
    assert any(key.startswith("metrics/mAP50") for key in result["keys"])

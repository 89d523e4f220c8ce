"""Writing the datasets: Pascal VOC, Edge Impulse, COCO, YOLO, MOT, and the upload to Edge Impulse."""

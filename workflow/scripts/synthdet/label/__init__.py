"""Labeling: model loading, Grounding DINO, SAM 2 (images and video tracking), the threshold filter."""

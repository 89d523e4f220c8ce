"""Making images and videos: the procedural generator, Cosmos-Predict2, seed batches, frames."""

import logging

from synthdet import labeling
from synthdet.entry import logged
from synthdet.gpus import gpu_lease

log = logging.getLogger("synthdet.detect_images")

with logged(snakemake) as stream, gpu_lease(1) as devices:
    labeling.use_devices(devices)
    models = labeling.load_models(snakemake.params.models, snakemake.params.classes)
    labeling.label_images(
        snakemake.input.manifests,
        snakemake.output[0],
        snakemake.params.settings,
        models,
        progress=stream,
    )

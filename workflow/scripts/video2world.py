import logging

from synthdet.core.atomic import read_json, write_json
from synthdet.core.entry import logged
from synthdet.generate import batches, generate

log = logging.getLogger("synthdet.video2world")


with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    job = generate.batch_job(
        snakemake.params.generation,
        dataset,
        int(snakemake.wildcards.seed),
        snakemake.config["datasets"][dataset]["video2world"]["num_gpus"],
        snakemake.config["cosmos"],
    )
    items = batches.video2world_items(
        read_json(snakemake.input.prompts)["prompts"],
        read_json(snakemake.input.image_manifest),
        snakemake.output.videos,
        snakemake.params.prompts_per_seed,
    )
    write_json(snakemake.output.batch, items)
    log.info("batch: %d items", len(items))
    result = generate.video2world(
        snakemake.output.batch,
        snakemake.input.image_manifest,
        snakemake.output.videos,
        snakemake.output.manifest,
        job,
        snakemake.log[0],
    )
    log.info("items: %s", result["counts"])

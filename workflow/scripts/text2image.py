import logging

from synthdet.core.atomic import read_json, write_json
from synthdet.core.entry import logged
from synthdet.generate import batches, generate

log = logging.getLogger("synthdet.text2image")


with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    job = generate.batch_job(
        snakemake.params.generation,
        dataset,
        int(snakemake.wildcards.seed),
        1,  # one GPU per text2image batch
        snakemake.config["cosmos"],
    )
    prompts = read_json(snakemake.input[0])["prompts"]
    items = batches.text2image_items(prompts, snakemake.output.images)
    write_json(snakemake.output.batch, items)
    log.info("batch: %d items", len(items))
    result = generate.text2image(
        snakemake.output.batch,
        snakemake.output.images,
        snakemake.output.manifest,
        job,
        snakemake.log[0],
    )
    log.info("items: %s", result["counts"])

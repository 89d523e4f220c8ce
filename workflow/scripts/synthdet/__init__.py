"""synthdet: the logic behind the synthetic object-detection data workflow.

Every Snakemake rule is a thin `script:` entry that calls one function here, so the
behaviour is testable without Snakemake.
"""

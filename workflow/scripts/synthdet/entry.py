"""What every `script:` entry shares: logging into the rule's log file."""

import logging
import sys
import traceback
from contextlib import contextmanager


@contextmanager
def logged(snakemake):
    """Log to the rule's `log:` file; a failure writes its traceback there and re-raises."""
    log_path = snakemake.log[0]
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield log_path
    except BaseException:
        logging.error("failed:\n%s", traceback.format_exc())
        raise
    finally:
        handler.close()
        root.removeHandler(handler)
        sys.stderr.flush()


def generation_job(snakemake):
    """Everything a generation stage needs about its batch."""
    return {
        **snakemake.params.generation,
        "dataset": snakemake.wildcards.dataset,
        "seed": int(snakemake.wildcards.seed),
        # Site settings (how Cosmos is launched) are deliberately not a param:
        # moving a checkout or container must not regenerate anything.
        "cosmos": snakemake.config["cosmos"],
    }

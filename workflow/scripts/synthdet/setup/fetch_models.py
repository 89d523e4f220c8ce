"""`snakemake fetch_models`: download, verify and place every pinned file the config's
`models:` names (model_pins plans, downloads fetches)."""

import logging
import os
from pathlib import Path

from . import downloads, model_pins

log = logging.getLogger(__name__)


def fetch_all(models, pins_path, out, root=".", environ=os.environ):
    """Fetch what `models` names into its folder; print one line per file to `out`.

    A failure stops at its file with the message of downloads.FetchError (or ConfigError
    for a path with no pin), printed to `out` too: the terminal, not only the log.
    """
    pins = model_pins.read_pins(pins_path)
    folder = Path(root) / models.get("folder", "checkpoints")
    try:
        wanted = model_pins.pins_to_fetch(models, pins, pins_path, root)
        if not wanted:
            print(f"fetch_models: models: names no pinned file under {folder}/", file=out)
        for pin in wanted:
            outcome = downloads.fetch(pin, folder, environ)
            print(f"fetch_models: {folder / pin.name}: {outcome}, SHA-256 verified", file=out)
            log.info("%s: %s", pin.name, outcome)
    except (downloads.FetchError, model_pins.ConfigError) as error:
        print(f"fetch_models: {error}", file=out)
        raise
    return [pin.name for pin in wanted]

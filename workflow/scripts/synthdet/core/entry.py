"""What every `script:` entry shares: logging into the rule's log file."""

import contextlib
import logging
import traceback


@contextlib.contextmanager
def logged(log_path):
    """Send logging, warnings and library output (stderr) to the rule's `log:` file.

    Yields the open log stream (for progress bars). A failure writes its traceback to
    the log and re-raises, so Snakemake fails the job and shows the log.
    """
    open(log_path, "w").close()
    # Append mode: Cosmos's output, appended by a child process, is never overwritten.
    with open(log_path, "a", encoding="utf-8", buffering=1) as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.WARNING)  # libraries (sam2 logs every image at INFO) stay quiet
        logging.getLogger("synthdet").setLevel(logging.INFO)
        logging.captureWarnings(True)
        try:
            with contextlib.redirect_stderr(stream):
                yield stream
        except BaseException:
            logging.getLogger("synthdet").error("failed:\n%s", traceback.format_exc())
            raise
        finally:
            root.removeHandler(handler)

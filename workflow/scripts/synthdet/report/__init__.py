"""Reading the results back: QA overlays, stats, evaluation, the tuning page, the summary, tracking videos."""

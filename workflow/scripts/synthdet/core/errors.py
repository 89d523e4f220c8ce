"""One exception type for every user mistake, so entry points can print it plainly."""


class ConfigError(ValueError):
    """Bad configuration or template. The message names the file and the key."""

    def __init__(self, source, key, problem):
        self.source = str(source)
        self.key = key
        self.problem = problem
        where = f"{self.source}: {key}" if key else self.source
        super().__init__(f"{where}: {problem}")

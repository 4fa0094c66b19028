class InfraError(RuntimeError):
    """A local service could not be installed, started or stopped; the message says why."""

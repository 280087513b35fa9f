"""A streaming run: the runner plans parts, an executor runs them through the worker,
the sinks publish the results."""

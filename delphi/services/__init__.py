"""Multi-object workflows: plain functions that take models and data, ``flush()`` and return; the caller commits."""

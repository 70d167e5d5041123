"""Batch actions on many jobs: the bar under the jobs table and its result dialog."""

"""Dry runs of a flow: graph checks, the predicted path, a duration estimate and an optional real run.

- ``graph``: the flow's graph rebuilt from its DSL and the routine factory.
- ``analysis``: checks of that graph, and the path data takes from an entry
  routine.
- ``inputs``: the params an entry routine declares it needs.
- ``estimate``: a duration estimate from earlier jobs of the flow.
- ``execution``: the path, outputs and errors of a throwaway run.
- ``runner``: one dry run from request to response body.
"""

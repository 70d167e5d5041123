"""routilux 1.1.0's twelve built-in routines, made to run under the standard calling convention.

In routilux 1.1.0 none of the built-ins can run: ten never get an activation
policy and all twelve have a policy or a logic signature that fails under the
runtime's calling convention. The classes here subclass the installed ones
(nothing in routilux is patched), restore a working policy, adapt the logic
and fix the documented options that the originals ignore. Each class
docstring states the behaviour it gives; each adaptation carries a
``WORKAROUND`` comment naming the upstream defect.

Conventions shared by all of them:

- A slot item is what the engine enqueued: the keyword arguments of the
  upstream emit (``{"item": 3}`` after a Splitter, ``{"data": {...}}`` after
  a Filter), or the job parameters for an entry routine.
- Routine state lives on the instance, which the engine creates fresh per
  job. Batcher, Debouncer, Aggregator and RetryHandler wait through
  ``embedded_server.engine.timers.call_later`` only when a delay is
  configured.

Call :func:`register_builtins` once at start-up, after anything that
registers routilux's own versions.
"""

from __future__ import annotations

import logging

from routilux.core.routine import Routine
from routilux.tools.factory.factory import ObjectFactory
from routilux.tools.factory.metadata import ObjectMetadata

from embedded_server.engine.builtins import (
    control_flow,
    data_processing,
    reliability,
    text_processing,
    timing,
)

logger = logging.getLogger(__name__)

# Factory name -> (working class, category shown in the factory listing).
BUILTIN_ROUTINES: dict[str, tuple[type[Routine], str]] = {
    "Mapper": (data_processing.Mapper, "data_processing"),
    "Filter": (data_processing.Filter, "data_processing"),
    "SchemaValidator": (data_processing.SchemaValidator, "data_processing"),
    "DataTransformer": (data_processing.DataTransformer, "data_processing"),
    "DataValidator": (data_processing.DataValidator, "data_processing"),
    "Aggregator": (control_flow.Aggregator, "control_flow"),
    "Splitter": (control_flow.Splitter, "control_flow"),
    "ConditionalRouter": (control_flow.ConditionalRouter, "control_flow"),
    "Batcher": (timing.Batcher, "control_flow"),
    "Debouncer": (timing.Debouncer, "control_flow"),
    "RetryHandler": (reliability.RetryHandler, "reliability"),
    "ResultExtractor": (text_processing.ResultExtractor, "text_processing"),
}


def register_builtins(factory: ObjectFactory) -> None:
    """Register the working built-ins in ``factory``, replacing any entry of the same name."""
    for name, (routine_class, category) in BUILTIN_ROUTINES.items():
        try:
            factory.unregister(name)
        except ValueError:
            pass  # nothing registered under this name yet

        docstring = routine_class.__doc__.strip()
        metadata = ObjectMetadata(
            name=name,
            description=docstring.splitlines()[0],
            category=category,
            tags=["builtin"],
            docstring=docstring,
        )
        factory.register(name, routine_class, metadata=metadata)
    logger.debug("Registered %d built-in routines", len(BUILTIN_ROUTINES))

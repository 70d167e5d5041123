"""Building the FastAPI application and the parts it runs on."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from routilux.tools.factory.factory import ObjectFactory

from embedded_server import __version__, errors
from embedded_server.debug.breakpoints import BreakpointStore
from embedded_server.debug.controller import Debugger
from embedded_server.engine import loader, output
from embedded_server.engine.catalog import FlowCatalog
from embedded_server.engine.scheduler import Engine
from embedded_server.engine.watcher import FlowWatcher
from embedded_server.events.bus import EventBus
from embedded_server.events.websocket import router as websocket_router
from embedded_server.middleware import GuardMiddleware
from embedded_server.routes import batch as batch_routes
from embedded_server.routes import breakpoints as breakpoint_routes
from embedded_server.routes import debug, dryrun, flows, jobs, meta, workers
from embedded_server.routes import versions as version_routes
from embedded_server.routes.deps import ServerState
from embedded_server.settings import Settings
from embedded_server.store.database import Database
from embedded_server.store.jobs import JobStore
from embedded_server.store.versions import FlowVersionStore

logger = logging.getLogger(__name__)

INTERRUPTED_REASON = "The server stopped while the job was running"


def load_catalog(settings: Settings) -> FlowCatalog:
    """Register the built-in routines, import routine modules and load flows."""
    catalog = FlowCatalog()
    _register_builtins()
    routines_dirs, flows_dirs = list(settings.routines_dirs), list(settings.flows_dirs)
    if settings.demo:
        from resources import DEMO_DIR

        routines_dirs.insert(0, DEMO_DIR / "routines")
        flows_dirs.insert(0, DEMO_DIR / "flows")
    for folder in routines_dirs:
        loader.load_routine_modules(Path(folder), catalog)
    for folder in flows_dirs:
        loader.load_flow_files(Path(folder), catalog)
    return catalog


def _register_builtins() -> None:
    factory = ObjectFactory.get_instance()
    try:
        from embedded_server.engine.builtins import register_builtins
    except ImportError:
        from routilux.builtin_routines import register_all_builtins as register_builtins

        logger.warning("Working built-in routines are missing; using routilux's own")
    register_builtins(factory)


def create_app(settings: Settings) -> FastAPI:
    """Build the application; the database, engine and bus start in its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Routine code and evaluations run in threads; a short GIL switch
        # interval lets the event loop serve requests while they compute.
        sys.setswitchinterval(0.001)
        database = Database(settings.db_path)
        job_store = JobStore(database)
        job_store.fail_interrupted(INTERRUPTED_REASON)
        catalog = load_catalog(settings)
        catalog.track_versions(FlowVersionStore(database))
        app.state.flow_watcher = flow_watcher = FlowWatcher(catalog).start()
        output.install()
        bus = EventBus(database)
        await bus.start()
        engine = Engine(
            catalog,
            job_store,
            bus,
            threads=settings.worker_threads,
            max_output_bytes=settings.max_output_bytes,
        )
        breakpoints = BreakpointStore(database)
        engine.debugger = Debugger(engine, breakpoints)
        app.state.server = ServerState(
            settings, catalog, job_store, engine, bus, time.time(), breakpoints, engine.debugger
        )
        app.state.bus = bus
        app.state.settings = settings
        logger.info(
            "Ready with %d flow(s) and %d load error(s)",
            len(catalog.flows()),
            len(catalog.load_errors),
        )
        try:
            yield
        finally:
            flow_watcher.stop()
            engine.shutdown()
            await bus.close()
            database.close()

    app = FastAPI(
        title="Overseer embedded server",
        version=__version__,
        description="Routilux-compatible API with job history, live events and debugging.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(meta.router)
    app.include_router(flows.router)
    app.include_router(jobs.router)
    app.include_router(workers.router)
    app.include_router(breakpoint_routes.router)
    app.include_router(debug.router)
    app.include_router(dryrun.router)
    app.include_router(batch_routes.router)
    app.include_router(version_routes.router)
    app.include_router(websocket_router)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            max_age=600,
        )
    app.add_middleware(
        GuardMiddleware,
        api_key=settings.api_key,
        rate_per_minute=settings.rate_limit_per_minute,
    )
    return app

"""The one place where Overseer adapts routilux 1.1.0.

routilux provides the routine model (routines, slots, events, activation
policies, the object factory and the flow DSL). Its ``Runtime`` has defects
that make it unfit for a debugger server, so this package drives routines
itself while keeping routilux's calling conventions:

- ``scheduler`` runs each job as a small state machine on a shared, bounded
  thread pool. routilux starts one worker thread per job submitted without a
  worker id and never reaps it; here a job holds no thread while it waits.
- Every routine of a job is a fresh instance, so slot queues and routine state
  never leak between jobs (routilux shares them across all jobs of a flow).
- Routines that are not the entry routine can ``emit`` without passing
  ``worker_state`` (routilux raises ``WorkerState is required for emit()``).
- Start, completion and failure are recorded for every routine, a job
  completes when no work is left, and a routine that raises fails the job
  with its traceback (routilux leaves such jobs ``running`` forever).
- ``builtins`` makes routilux's built-in routines activate and run.
- ``output`` captures what a job's routines print, per job.
"""

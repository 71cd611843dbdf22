"""Channel health: every process records signals in Redis; one pure function turns them into ok / degraded / down.

Four modules, kept apart so each can be tested alone; each imports only those listed before it:

- `signals`: the recorder every channel, poller and worker calls (`HealthSignals`, `SignalWriter`), and the Redis
  keys those processes write for the monitor. Channels and workers import this module alone.
- `rules`: the rules of config/health.toml (`load_rules`), what they see of a channel, the rule functions with
  what to do about each finding, and `evaluate`, the pure function of them all.
- `documents`: the status documents for when no channel has a state to show (Redis down, the check failed, a Redis
  that is not the deployment's).
- `monitor`: `HealthMonitor`, which reads the signals and queues, evaluates every channel and records the result,
  and the overall state and reason every view shows.

Nothing is re-exported here: a name is imported from the module that defines it.
"""

"""LAPOR! intake gateway: processes, HTTP app, CLI, settings and logging."""

"""Load and fault runs of the whole stack on this machine: `python -m loadtest [--users 50] [--faults] --json`.

A development tool of the source checkout, like simulator/ and benchmarks/ (not in the wheel). The runner
(`loadtest.stack`, `loadtest.__main__`) starts a private PostgreSQL (initdb into a temporary directory) and a
private redis-server on free loopback ports — never the machine's own, which CI and other work use — migrates,
seeds a tenant (`loadtest.seed`), and runs gunicorn, a Celery worker and beat against them; locust
(`loadtest.locustfile`) drives console users and a webhook burst; the fault run restarts that Redis and that
PostgreSQL during a store sync and a webhook burst and checks, straight from the database, that nothing was
lost or duplicated and that the stack recovered by itself. Everything is bounded in time and stops by itself.
"""

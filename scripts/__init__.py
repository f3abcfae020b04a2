"""Developer tools of the project (a private PostgreSQL cluster for tests, benchmarks and demos)."""

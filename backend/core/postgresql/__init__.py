"""Django's PostgreSQL backend, handing out pooled connections without a round trip to check
them (base.py). ENGINE "core.postgresql" where the pool is on (config/settings.py)."""

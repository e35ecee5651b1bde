"""The service's settings, plus the ceiling's no-op view (benchmarks/urls.py). Used only by the
Daphne processes the benchmarks start."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"

"""Benchmarks of the delivery engine against django-aws-api-gateway-websockets 4.1.0.

Run ``python benchmarks/run.py`` (see ``benchmarks/README.md``). Nothing here is imported by
the product or its tests.
"""

import os

# The project refuses its public development key outside DEBUG; the driver and our side
# read project.settings, so the benchmarks bring a key of their own.
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-secret-key-not-for-production")

"""Benchmarks of the delivery engine against django-aws-api-gateway-websockets 4.1.0.

Run ``python benchmarks/run.py`` (see ``benchmarks/README.md``). Nothing here is imported by
the product or its tests.
"""

"""WebSockets for Django on AWS API Gateway, with every send delivered by Celery workers."""

__version__ = "0.1.0"

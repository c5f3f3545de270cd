# One image for every application service of docker-compose.yml: web (gunicorn), the local
# gateway, the Celery worker and beat; each service picks its command.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml ./
COPY docs/pypi.md ./docs/
COPY django_aws_api_gateway_websockets ./django_aws_api_gateway_websockets
COPY requirements ./requirements
RUN pip install ".[localgateway,beat]" -r requirements/demo.txt

COPY . .
# collectstatic signs nothing: a throwaway key lets the settings load at build time.
RUN DJANGO_SETTINGS_MODULE=project.settings DJANGO_SECRET_KEY=collectstatic-build-only \
    python manage.py collectstatic --noinput \
    && useradd --create-home --uid 10001 app \
    && chown -R app /app

USER app
EXPOSE 8000 8001
CMD ["gunicorn", "project.wsgi:application", "--bind=0.0.0.0:8000", "--workers=2"]

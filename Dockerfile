# One image for every app process (web, worker, beat, migrate); docker-compose.yml picks the
# command. Non-editable install, so templates/ and content/ are pointed at explicitly.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEWSLETTER_DATA_DIR=/app/var \
    NEWSLETTER_TEMPLATES_DIR=/app/templates \
    NEWSLETTER_CONTENT_DIR=/app/content

WORKDIR /app

# Dependencies first, in their own layer, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p newsletter && touch newsletter/__init__.py \
    && pip install . \
    && pip uninstall -y newsletter \
    && rm -rf newsletter build *.egg-info

COPY newsletter ./newsletter
COPY templates ./templates
COPY content ./content
COPY worker.py ./
RUN pip install --no-deps . && rm -rf build *.egg-info

# Nothing here needs root, and a compromised worker should not have it.
RUN useradd --create-home --uid 10001 --user-group newsletter \
    && mkdir -p /app/var \
    && chown newsletter:newsletter /app/var
USER newsletter

EXPOSE 8000
CMD ["newsletter", "web", "--host", "0.0.0.0", "--port", "8000"]

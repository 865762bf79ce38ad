# syntax=docker/dockerfile:1
# Minzheng: one image for all four services; the service is chosen by argument.
#
#   docker build -t minzheng:local .
#   docker run --env-file ... minzheng:local serve assistance
#   docker run --env-file ... minzheng:local migrate assistance
#   docker run --env-file ... minzheng:local topics create
#
# Configuration and secrets come from the environment at run time (docs/configuration.md);
# nothing secret is ever copied into the image (.dockerignore is an allow-list).

ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: compilers allowed here, never in the final image -------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /src

# Dependencies first (their own layer, rebuilt only when pyproject.toml changes). Only the
# runtime dependencies: not the `local` extra (embedded PostgreSQL, tansu broker) nor `dev`.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

# Then the project itself, as a regular (non-editable) install into the venv.
COPY . ./
RUN pip install --no-deps . \
 && minzheng --help > /dev/null

# ---- runtime: the venv, a non-root user, nothing else ----------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="minzheng" \
      org.opencontainers.image.description="Civil-affairs services: registry, assistance, eldercare, monitoring"

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    ENVIRONMENT=production \
    MINZHENG_HOME=/tmp/minzheng

RUN groupadd --system --gid 10001 minzheng \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin minzheng

COPY --from=builder /opt/venv /opt/venv
COPY deploy/docker/healthcheck.py /opt/minzheng/healthcheck.py

WORKDIR /opt/minzheng
USER 10001:10001

EXPOSE 8001 8002 8003 8004

# Liveness only (/healthz touches no dependency). docker-compose overrides it with /readyz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "/opt/minzheng/healthcheck.py", "/healthz"]

ENTRYPOINT ["minzheng"]
CMD ["serve", "registry"]

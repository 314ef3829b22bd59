# One worker (`streams worker`). The API listens on 0.0.0.0, so the worker refuses to start
# without a tokens file: mount one and set STREAMS_API_TOKENS_FILE (docker-compose.yml does).

# Build the wheel: the package and its data (schemas, rate card), nothing else of the repo.
FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# Install the locked dependencies (hash-checked), then the wheel itself, not editable.
FROM python:3.11-slim
COPY requirements-runtime.lock /tmp/requirements-runtime.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements-runtime.lock \
    && rm /tmp/requirements-runtime.lock
COPY --from=build /dist/ /tmp/dist/
RUN pip install --no-cache-dir --no-deps /tmp/dist/*.whl && pip check && rm -r /tmp/dist
RUN groupadd --system --gid 10001 streams \
    && useradd --system --uid 10001 --gid streams --home-dir /var/lib/streams --create-home streams
USER 10001:10001
WORKDIR /var/lib/streams
ENV PYTHONUNBUFFERED=1 \
    STREAMS_DATA_DIR=/var/lib/streams \
    STREAMS_WEB_BIND=0.0.0.0
EXPOSE 6066
CMD ["streams", "worker"]

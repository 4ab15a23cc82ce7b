# syntax=docker/dockerfile:1
#
# cairn serve in a container:
#
#   docker build -t cairn .
#   docker run -d -p 8080:8080 -v cairn-data:/var/lib/cairn \
#     -v "$PWD/examples:/etc/cairn/examples:ro" \
#     -v "$PWD/examples/serve/container.toml:/etc/cairn/cairn.toml:ro" cairn
#
# The cairn.toml and the Worker projects it names go under /etc/cairn (a
# bind mount, or COPY in an image built FROM this one), each with its
# node_modules installed: cairn bundles them at start and needs no Node.js.

# --- build: cgo for SQLite, with the build tags cairn needs.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -tags "sqlite_fts5 sqlite_math_functions" \
      -ldflags "-s -w" -o /out/cairn ./cmd/cairn

# --- run: a slim Debian (glibc, as the cgo build links it), non-root.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 cairn \
 && useradd --system --uid 10001 --gid cairn --home-dir /var/lib/cairn --shell /usr/sbin/nologin cairn \
 && mkdir -p /var/lib/cairn /etc/cairn \
 && chown cairn:cairn /var/lib/cairn
COPY --from=build /out/cairn /usr/local/bin/cairn

# Flags and CAIRN_* variables override the cairn.toml. The admin API stays
# on loopback (the health check uses it); to reach it from outside set
# CAIRN_ADMIN=0.0.0.0:9090 and CAIRN_ADMIN_TOKEN.
ENV CAIRN_CONFIG=/etc/cairn/cairn.toml \
    CAIRN_DATA_DIR=/var/lib/cairn \
    CAIRN_HTTP=0.0.0.0:8080 \
    CAIRN_ADMIN=127.0.0.1:9090 \
    CAIRN_LOG_FORMAT=json

USER cairn:cairn
WORKDIR /etc/cairn
VOLUME ["/var/lib/cairn"]
EXPOSE 8080 8443 9090

# SIGTERM drains (shutdown_timeout, default 30s): give docker stop more
# time than that, e.g. docker stop -t 40.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:9090/cairn/healthz || exit 1

ENTRYPOINT ["cairn"]
CMD ["serve"]

# trimtab as an ECS/Fargate service. Build: docker build -t trimtab .
# Pinned by version tag; to pin by digest as well, read it with
# `docker buildx imagetools inspect rust:1.95.0-slim-bookworm` and append `@sha256:...`.
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --bin trimtab

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 trimtab
COPY --from=build /src/target/release/trimtab /usr/local/bin/trimtab
# The config baked in is the demo on its simulated account, kept in memory (no state file, so
# a read-only root filesystem is fine): an image started without its real config touches no
# AWS account, let alone prunes one. Mount or bake the real desired state over this path.
COPY config/demo.toml /tmp/demo.toml
RUN mkdir -p /etc/trimtab && sed '/^state_file/d' /tmp/demo.toml > /etc/trimtab/trimtab.toml \
    && rm /tmp/demo.toml && /usr/local/bin/trimtab validate --config /etc/trimtab/trimtab.toml
USER trimtab
EXPOSE 9090
# Liveness, by the binary itself (the image has no curl): /healthz, not /readyz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/trimtab", "healthcheck", "--addr", "127.0.0.1:9090"]
# JSON logs for CloudWatch Logs; the desired state is mounted (or baked) at this path.
ENV TRIMTAB_LOG_FORMAT=json
ENTRYPOINT ["/usr/local/bin/trimtab"]
CMD ["run", "--config", "/etc/trimtab/trimtab.toml", "--listen", "0.0.0.0:9090"]

# trimtab as an ECS/Fargate service. Build: docker build -t trimtab .
FROM rust:1.95-slim-bookworm AS build
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
COPY config/example.toml /etc/trimtab/trimtab.toml
USER trimtab
EXPOSE 9090
# JSON logs for CloudWatch Logs; the desired state is mounted (or baked) at this path.
ENV TRIMTAB_LOG_FORMAT=json
ENTRYPOINT ["/usr/local/bin/trimtab"]
CMD ["run", "--config", "/etc/trimtab/trimtab.toml", "--listen", "0.0.0.0:9090"]

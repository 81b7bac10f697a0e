# Multi-stage build of the registry: compile in the Rust image, run as a non-root user in a slim Debian.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libssl-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY src ./src
COPY migrations ./migrations
COPY assets ./assets
COPY benches ./benches
COPY tests ./tests
RUN cargo build --release --locked --bin ecolabel

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 ca-certificates curl && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/ecolabel --create-home ecolabel \
    && install -d -o ecolabel -m 0700 /var/lib/ecolabel/keys
COPY --from=build /src/target/release/ecolabel /usr/local/bin/ecolabel
COPY --from=build /src/assets /usr/share/ecolabel/assets
USER ecolabel
WORKDIR /var/lib/ecolabel
ENV ECOLABEL_BIND=0.0.0.0:8080 \
    ECOLABEL_DATA_DIR=/var/lib/ecolabel \
    ECOLABEL_KEY_DIR=/var/lib/ecolabel/keys \
    ECOLABEL_CRITERIA_DIR=/usr/share/ecolabel/assets/criteria \
    ECOLABEL_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["ecolabel"]
CMD ["serve"]

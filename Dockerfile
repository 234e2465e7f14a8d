# Multi-stage build: compile in the Rust image, run as a non-root user in a slim Debian image.
# Needs no BuildKit feature (the legacy builder works too) and fetches nothing but the two base images and crates.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, in a layer of their own: with stub targets in place of the sources, this layer is rebuilt
# only when Cargo.toml, Cargo.lock or .cargo/ change, not on every source change.
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/engine.rs \
    && cp benches/engine.rs benches/figures.rs \
    && cargo build --release --locked --bin entra-inbound \
    && rm -rf src benches
COPY rustfmt.toml clippy.toml ./
COPY config ./config
COPY src ./src
COPY benches ./benches
# COPY keeps the files' own times, which may be older than the stub build: touch the roots so cargo rebuilds them.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin entra-inbound

FROM debian:bookworm-slim
# A high uid and gid of the image's own, so neither collides with a user or group of the host (bind mounts).
ARG ENTRA_UID=10001
ARG ENTRA_GID=10001
# The system's CA roots: `entra-inbound upload` run from this image reaches Graph and login.microsoftonline.com over
# HTTPS with them (SSL_CERT_FILE swaps in the emulator's CA instead). Not pinned: Debian's security updates replace
# the version, and a pinned one would stop building.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
# The data directory (and tls/ in it, where the generated CA lives) belong to the user, so a named volume mounted
# on either starts out writable by it.
RUN groupadd --gid "${ENTRA_GID}" entra \
    && useradd --uid "${ENTRA_UID}" --gid "${ENTRA_GID}" --no-log-init --no-create-home \
        --home-dir /var/lib/entra-inbound --shell /usr/sbin/nologin entra \
    && install -d -o entra -g entra -m 0755 /var/lib/entra-inbound /var/lib/entra-inbound/tls
COPY --from=build /src/target/release/entra-inbound /usr/local/bin/entra-inbound
USER ${ENTRA_UID}:${ENTRA_GID}
ENV ENTRA_INBOUND_LISTEN=0.0.0.0:8080 \
    ENTRA_INBOUND_DATA_DIR=/var/lib/entra-inbound
# State (staged operations, the directory, logs, job state, the generated CA) survives a restart of the container.
VOLUME ["/var/lib/entra-inbound"]
# 8443 serves HTTPS when ENTRA_INBOUND_TLS_LISTEN=0.0.0.0:8443 is set (MSAL / azure-identity need an https authority).
EXPOSE 8080 8443
# The health URL follows ENTRA_INBOUND_LISTEN (an unspecified address is probed on loopback).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["entra-inbound", "healthcheck"]
ENTRYPOINT ["entra-inbound"]
CMD ["serve"]

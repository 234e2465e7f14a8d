# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run as a non-root user in a slim Debian image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml clippy.toml ./
COPY .cargo ./.cargo
COPY config ./config
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --bin entra-inbound

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/entra-inbound --create-home entra
COPY --from=build /src/target/release/entra-inbound /usr/local/bin/entra-inbound
USER entra
ENV ENTRA_INBOUND_LISTEN=0.0.0.0:8080
# 8443 serves HTTPS when ENTRA_INBOUND_TLS_LISTEN=0.0.0.0:8443 is set (MSAL / azure-identity need an https authority).
EXPOSE 8080 8443
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["entra-inbound", "healthcheck"]
ENTRYPOINT ["entra-inbound"]
CMD ["serve"]

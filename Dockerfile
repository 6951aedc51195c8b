# The published healthprobe image: nothing but the static binary (and its licenses), for
#
#     COPY --from=ghcr.io/healthprobe/healthprobe:0.1 /healthprobe /healthprobe
#     COPY --from=ghcr.io/healthprobe/healthprobe:0.1-slim /healthprobe /healthprobe   # no TLS, no gRPC
#
# It compiles nothing. Like goreleaser/ko images, the static musl binaries are built first and
# this file only copies them, one per architecture, from the build context:
#
#     dist/linux-amd64/healthprobe      (cargo build --release --target x86_64-unknown-linux-musl)
#     dist/linux-arm64/healthprobe      (cargo build --release --target aarch64-unknown-linux-musl)
#     dist/linux-ARCH/healthprobe-slim  the slim variant (--no-default-features --features cli),
#                                       copied instead with --build-arg VARIANT=-slim
#     dist/licenses/                    (LICENSE-* files; may be empty)
#
#     scripts/dist.sh amd64 arm64          # builds both, stages them under target/docker/
#                                          # (SLIM=1: the slim variant too)
#     DOCKER_BUILDKIT=0 docker build --build-arg TARGETARCH=amd64 -f Dockerfile \
#         -t ghcr.io/healthprobe/healthprobe:0.1 target/docker
#
# BuildKit (`docker buildx build --platform linux/amd64,linux/arm64 ...`) sets TARGETARCH from the
# platform itself; the legacy builder does not, so give it `--build-arg TARGETARCH=amd64`.
FROM scratch

ARG TARGETARCH
ARG VERSION=0.1.0
ARG REVISION=unknown
# "" for the full binary, "-slim" for the slim one.
ARG VARIANT=""

LABEL org.opencontainers.image.title="healthprobe" \
      org.opencontainers.image.description="A tiny static health-check probe for shell-less containers: copy /healthprobe into your image and use it as the HEALTHCHECK" \
      org.opencontainers.image.source="https://github.com/healthprobe/healthprobe" \
      org.opencontainers.image.url="https://github.com/healthprobe/healthprobe" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

COPY dist/licenses/ /usr/share/doc/healthprobe/
COPY dist/linux-${TARGETARCH}/healthprobe${VARIANT} /healthprobe

# No /etc/passwd here, so a numeric user: the distroless "nonroot" UID.
USER 65532:65532
ENTRYPOINT ["/healthprobe"]
CMD ["--help"]

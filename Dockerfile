# syntax=docker/dockerfile:1
#
# The reconciler image: Node 22 on distroless (no shell, no package manager), one file of JavaScript.
# Build the bundle first (the release workflow does):  npx projen bundle:reconciler  ->  bundle/reconciler.js (+ .map)
# then:                                                docker build -t cdk8s-azure-reconciler .
#
# Runs as uid/gid 65532 (distroless "nonroot") and writes nothing to disk: it works with
# readOnlyRootFilesystem: true (mount an emptyDir at /tmp if a future dependency ever needs scratch space).
#
# The base is pinned by the digest of its multi-platform index (amd64 and arm64), so a rebuild of the same commit
# gets the same base. To move to a newer base (security fixes), read the tag's current index digest and replace it:
#   docker buildx imagetools inspect gcr.io/distroless/nodejs22-debian12:nonroot --format '{{json .Manifest.Digest}}'
#   (or: crane digest gcr.io/distroless/nodejs22-debian12:nonroot)
FROM gcr.io/distroless/nodejs22-debian12:nonroot@sha256:13593b7570658e8477de39e2f4a1dd25db2f836d68a0ba771251572d23bb4f8e

# Set by the release workflow (.github/workflows/release.yml) to the release's version and commit.
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="cdk8s-azure reconciler" \
      org.opencontainers.image.description="Makes Azure Database for PostgreSQL flexible servers match cdk8s-azure custom resources" \
      org.opencontainers.image.source="https://github.com/cdk8s-azure/cdk8s-azure" \
      org.opencontainers.image.url="https://github.com/cdk8s-azure/cdk8s-azure" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="cdk8s-azure" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs22-debian12:nonroot" \
      org.opencontainers.image.base.digest="sha256:13593b7570658e8477de39e2f4a1dd25db2f836d68a0ba771251572d23bb4f8e"

# distroless keeps node in /nodejs/bin; put it on PATH so the exec-form ENTRYPOINT can say "node".
ENV PATH=/nodejs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production

WORKDIR /app
# Root-owned and read-only: the process (uid 65532) cannot modify its own code.
COPY --chown=0:0 --chmod=0444 bundle/reconciler.js bundle/reconciler.js.map /app/

USER 65532:65532
# 8080: /metrics (--metrics-bind-address), 8081: /healthz and /readyz (--health-probe-bind-address)
EXPOSE 8080 8081
# No --enable-source-maps: decoding the 8 MiB map doubles resident memory (~200 MiB instead of ~100 MiB idle, see
# docs/reconciler.md). The map is in the image: set NODE_OPTIONS=--enable-source-maps to debug with mapped traces.
# --max-semi-space-size=2 (MiB): a small young generation. The reconciler's live heap is ~25-40 MiB, but with Node's
# default semi-spaces V8 grew its heap to ~70 MiB under load and kept it; measured in docs/benchmarks.md.
# --lite-mode: V8 without its compilers (it implies --jitless: bytecode only, no WebAssembly, so no undici fetch;
# nothing here uses either). The reconciler waits on the network, not on JavaScript: resident memory idle 78 -> 64 MiB
# and in a 300-rule burst 143 -> 85 MiB, for ~20 % more CPU and the same time to Ready (docs/benchmarks.md).
ENTRYPOINT ["node", "--max-semi-space-size=2", "--lite-mode", "/app/reconciler.js"]

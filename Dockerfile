# syntax=docker/dockerfile:1
#
# The reconciler image: Node 22 on distroless (no shell, no package manager), one file of JavaScript.
# Build the bundle first (CI does):   npx projen bundle:reconciler   ->  bundle/reconciler.js (+ .map)
# then:                               docker build -t cdk8s-azure-reconciler .
#
# Runs as uid/gid 65532 (distroless "nonroot") and writes nothing to disk: it works with
# readOnlyRootFilesystem: true (mount an emptyDir at /tmp if a future dependency ever needs scratch space).
FROM gcr.io/distroless/nodejs22-debian12:nonroot

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
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/reconciler.js"]

#!/usr/bin/env bash
# The Helm chart (charts/cdk8s-azure, generated from the Reconciler construct by scripts/helm-chart.ts): helm lint
# --strict, then helm template with the defaults and with every value set (ci-values.yaml), and check-chart.mjs
# checks that each value reached the manifests and that the defaults are the construct's.
set -euo pipefail
cd "$(dirname "$0")/../.."
HELM=$(bash test/helm/build.sh)
CHART=charts/cdk8s-azure
out=$(mktemp -d "${TMPDIR:-/tmp}/cdk8s-azure-helm.XXXXXX")
trap 'rm -rf "$out"' EXIT
"$HELM" lint --strict "$CHART" --set azure.subscriptionId=11111111-2222-3333-4444-555555555555
"$HELM" lint --strict "$CHART" -f test/helm/ci-values.yaml
"$HELM" template cdk8s-azure "$CHART" --namespace release-ns --set azure.subscriptionId=11111111-2222-3333-4444-555555555555 > "$out/defaults.yaml"
"$HELM" template cdk8s-azure "$CHART" --namespace release-ns -f test/helm/ci-values.yaml > "$out/values.yaml"
if "$HELM" template cdk8s-azure "$CHART" > /dev/null 2> "$out/error"; then
  echo "helm template without azure.subscriptionId succeeded; it must fail" >&2
  exit 1
fi
grep -q 'azure.subscriptionId is required' "$out/error"
# values.schema.json (the rules of src/api/scope.ts) refuses a bad namespace scope before anything is rendered.
if "$HELM" template cdk8s-azure "$CHART" --set azure.subscriptionId=11111111-2222-3333-4444-555555555555 \
  --set 'namespaceScopes.shop.resourceGroups[0]=bad/rg' > /dev/null 2> "$out/error"; then
  echo "helm template with a bad namespaceScopes resource group succeeded; it must fail" >&2
  exit 1
fi
grep -q 'namespaceScopes' "$out/error"
if "$HELM" template cdk8s-azure "$CHART" --set azure.subscriptionId=11111111-2222-3333-4444-555555555555 \
  --set 'namespaceScopes.shop.subscriptionId=not-a-guid' > /dev/null 2> "$out/error"; then
  echo "helm template with a namespaceScopes scope without resourceGroups and a bad subscriptionId succeeded; it must fail" >&2
  exit 1
fi
npx node --import tsx test/helm/check-chart.ts "$out/defaults.yaml" "$out/values.yaml"

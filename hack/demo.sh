#!/usr/bin/env bash
# The main job in one command (`make demo`): runs a real Agenda end to end.
#  1. a cluster: the current kube context when it answers (POP_DEMO_LOCAL=1 to skip it),
#     otherwise the embedded local cluster (hack/local-cluster/up.sh, root needed);
#  2. POP's CRDs, and the manager built from this tree, running locally against it;
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
  log "no cluster configured: starting the embedded local cluster"
  export KUBECONFIG
  KUBECONFIG=$("$ROOT/hack/local-cluster/up.sh")
  KUBECTL="$("$ROOT/hack/envtest-assets.sh")/kubectl"
}

start_manager() {
  mkdir -p "$CACHE/bin" "$CACHE/demo"
  (cd "$ROOT" && go build -o "$CACHE/bin/pop-manager" ./cmd/manager)
  $KUBECTL apply --server-side --force-conflicts -f "$ROOT/config/crd/bases" >/dev/null
  $KUBECTL wait --for=condition=Established crd/agendas.pop.dev crd/insights.pop.dev crd/handlertypes.pop.dev >/dev/null
  $KUBECTL create namespace pop-system --dry-run=client -o yaml | $KUBECTL apply -f - >/dev/null
  log "starting the manager (log: $CACHE/demo/manager.log)"
  "$CACHE/bin/pop-manager" --leader-elect=false --metrics-bind-address=0 --health-probe-bind-address=0 \
    --operator-namespace pop-system >"$CACHE/demo/manager.log" 2>&1 &
  MANAGER_PID=$!
  trap 'kill $MANAGER_PID 2>/dev/null' EXIT
}

apply_samples() {
  $KUBECTL create namespace "$NS" --dry-run=client -o yaml | $KUBECTL apply -f - >/dev/null
  $KUBECTL label namespace "$NS" pop.dev/customer=demo --overwrite >/dev/null
  $KUBECTL delete agenda -n "$NS" "$AGENDA" --ignore-not-found >/dev/null
  $KUBECTL apply -n "$NS" -f "$ROOT/config/samples/handlertypes.yaml" -f "$ROOT/config/samples/insights.yaml" >/dev/null
  $KUBECTL apply -n "$NS" -f "$ROOT/config/samples/agenda.yaml"
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
  [[ $phase == Succeeded ]] || { log "the Agenda ended $phase; manager log: $CACHE/demo/manager.log"; exit 1; }
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

choose_cluster
start_manager
apply_samples
log "waiting for the Agenda (Ctrl-C stops the manager; the cluster stays up: hack/local-cluster/down.sh)"
watch_agenda
check_hash

{{/* Labels every object carries, as the Kustomize base sets them. */}}
{{- define "pop.labels" -}}
app.kubernetes.io/name: pop
app.kubernetes.io/part-of: pop
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "pop.selector" -}}
app.kubernetes.io/name: pop
app.kubernetes.io/component: manager
{{- end }}

{{/* Whether the AWS bridge is configured at all. */}}
{{- define "pop.bridgeEnabled" -}}
{{- if or .Values.bridge.intakeQueues .Values.bridge.customerQueues .Values.bridge.table }}true{{ end }}
{{- end }}

{{/* The --bridge-* flags, in the order config/bridge lists them. */}}
{{- define "pop.bridgeArgs" -}}
{{- with .Values.bridge }}
{{- if .intakeQueues }}
- --bridge-intake-queues={{ join "," .intakeQueues }}
{{- end }}
{{- if .customerQueues }}
{{- $pairs := list }}
{{- range $customer, $url := .customerQueues }}
{{- $pairs = append $pairs (printf "%s=%s" $customer $url) }}
{{- end }}
- --bridge-customer-queues={{ join "," $pairs }}
{{- end }}
{{- if .deadLetterQueue }}
- --bridge-dead-letter-queue={{ .deadLetterQueue }}
{{- end }}
{{- if .table }}
- --bridge-table={{ .table }}
{{- end }}
{{- if .region }}
- --bridge-region={{ .region }}
{{- end }}
- --center={{ .center }}
- --bridge-claim-lease={{ .claimLease }}
- --bridge-mirror={{ .mirror }}
- --bridge-max-pending={{ .maxPending }}
- --bridge-max-pending-per-customer={{ .maxPendingPerCustomer }}
{{- if .capacityAware }}
- --bridge-capacity-aware
- --bridge-capacity-headroom={{ .capacityHeadroom }}
{{- end }}
{{- if .requireSignatures }}
- --bridge-require-signatures
{{- end }}
{{- end }}
{{- end }}

{{- define "pop.uiSelector" -}}
app.kubernetes.io/name: pop
app.kubernetes.io/component: ui
{{- end }}

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

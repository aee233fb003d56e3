{{/* Resource names are cut to 63 characters: the limit of labels and of many names. */}}
{{- define "switchyard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "switchyard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "switchyard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "switchyard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The operator's pods; app.kubernetes.io/component keeps them apart from anything else of the release. */}}
{{- define "switchyard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchyard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "switchyard.operatorLabels" -}}
{{ include "switchyard.labels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "switchyard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "switchyard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The ClusterRole the operator binds to each merchant's runner ServiceAccount. */}}
{{- define "switchyard.runnerClusterRoleName" -}}
{{- printf "%s-runner" (include "switchyard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "switchyard.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "switchyard.runnerImage" -}}
{{- $repository := default .Values.image.repository .Values.runner.image.repository }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.runner.image.tag }}
{{- printf "%s:%s" $repository $tag }}
{{- end }}

{{/*
What the operator may do wherever it manages Merchants and Carts: cluster-wide in a ClusterRole, or per namespace in
a Role. Nothing on Secrets: the runners get theirs through secretKeyRef, and the operator never reads them.
*/}}
{{- define "switchyard.operatorRules" -}}
- apiGroups: [switchyard.dev]
  resources: [merchants, carts]
  verbs: [get, list, watch]
- apiGroups: [switchyard.dev]
  resources: [merchants/status, carts/status]
  verbs: [get, patch, update]
# Owner references with blockOwnerDeletion need update on the owner's finalizers.
- apiGroups: [switchyard.dev]
  resources: [merchants/finalizers, carts/finalizers]
  verbs: [update]
- apiGroups: [batch]
  resources: [cronjobs]
  verbs: [get, list, watch, create, patch, update, delete]
# Cleanup Jobs: created once, never changed.
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, delete]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch, update, delete]
# Each merchant's runner ServiceAccount and the RoleBinding that lets it report status.
- apiGroups: ['']
  resources: [serviceaccounts]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [rolebindings]
  verbs: [get, list, watch, create, patch, update, delete]
# Binding the runner ClusterRole, and no other role: RBAC refuses a RoleBinding to a role the creator may not bind.
- apiGroups: [rbac.authorization.k8s.io]
  resources: [clusterroles]
  verbs: [bind]
  resourceNames: [{{ include "switchyard.runnerClusterRoleName" . }}]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}

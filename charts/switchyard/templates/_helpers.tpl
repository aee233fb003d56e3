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

{{/* An image by digest (`repository@sha256:…`) when one is given, else by tag. */}}
{{- define "switchyard.imageReference" -}}
{{- if .digest }}
{{- printf "%s@%s" .repository .digest }}
{{- else }}
{{- printf "%s:%s" .repository .tag }}
{{- end }}
{{- end }}

{{- define "switchyard.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- include "switchyard.imageReference" (dict "repository" .Values.image.repository "tag" $tag "digest" .Values.image.digest) }}
{{- end }}

{{/*
The runner's image: the operator's unless runner.image names another. The operator's digest follows only when the
runner uses the operator's image itself: it would not identify another repository's or tag's image.
*/}}
{{- define "switchyard.runnerImage" -}}
{{- $runner := .Values.runner.image }}
{{- $repository := default .Values.image.repository $runner.repository }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) $runner.tag }}
{{- $sameImage := and (empty $runner.repository) (empty $runner.tag) }}
{{- $digest := $runner.digest | default (ternary .Values.image.digest "" $sameImage) }}
{{- include "switchyard.imageReference" (dict "repository" $repository "tag" $tag "digest" $digest) }}
{{- end }}

{{/* The runner pods, in the merchants' namespaces: every workload the operator creates (operator/reconcile/names.ts). */}}
{{- define "switchyard.runnerSelectorLabels" -}}
app.kubernetes.io/name: switchyard-runner
app.kubernetes.io/managed-by: switchyard
{{- end }}

{{/*
What the operator may do wherever it manages Merchants and Carts: cluster-wide in a ClusterRole, or per namespace in
a Role. Only the verbs it uses: informers list and watch; children are written with server-side apply (patch, and
create for one that does not exist yet), read (get) only to see whether a name is taken before the first apply, and
deleted when unwanted; Jobs are only created; status is applied (patch). No update anywhere but finalizers. Nothing
on Secrets: the runners get theirs through secretKeyRef, and the operator never reads them.
*/}}
{{- define "switchyard.operatorRules" -}}
- apiGroups: [switchyard.dev]
  resources: [merchants, carts]
  verbs: [list, watch]
# The operator's status fields; also what each merchant's runner Role grants (on that merchant's objects only), which
# RBAC lets the operator grant only because it holds it.
- apiGroups: [switchyard.dev]
  resources: [merchants/status, carts/status]
  verbs: [patch]
# Owner references with blockOwnerDeletion need update on the owner's finalizers (where the API server enforces it).
- apiGroups: [switchyard.dev]
  resources: [merchants/finalizers, carts/finalizers]
  verbs: [update]
- apiGroups: [batch]
  resources: [cronjobs]
  verbs: [get, list, watch, create, patch, delete]
# Cleanup and migrate Jobs: created once, never changed; finished cleanups remove themselves (ttlSecondsAfterFinished),
# a failed migrate Job is deleted to be started again.
- apiGroups: [batch]
  resources: [jobs]
  verbs: [list, watch, create, delete]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch, delete]
# The watcher pods' status (why a watcher is not available), through an informer limited to them by label.
- apiGroups: ['']
  resources: [pods]
  verbs: [list, watch]
# Each merchant's runner ServiceAccount, the Role that lets it report to its own objects' status, and its RoleBinding.
- apiGroups: ['']
  resources: [serviceaccounts]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [get, list, watch, create, patch, delete]
# Events on Merchants and Carts: created, and counted up (series) when they repeat. The runners' Role gets create.
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/*
An egress rule to `to` (NetworkPolicy peers; every address when empty) on the TCP `ports` (every port when empty), as
one list item.
*/}}
{{- define "switchyard.networkPolicyEgressRule" -}}
{{- $rule := dict }}
{{- with .to }}
{{- $_ := set $rule "to" . }}
{{- end }}
{{- $ports := list }}
{{- range .ports }}
{{- $ports = append $ports (dict "protocol" "TCP" "port" .) }}
{{- end }}
{{- with $ports }}
{{- $_ := set $rule "ports" . }}
{{- end }}
{{- toYaml (list $rule) }}
{{- end }}

{{/* The egress both the operator and the runners need: the cluster's DNS, and the API server by its addresses. */}}
{{- define "switchyard.networkPolicyCommonEgress" -}}
{{- $policy := .Values.networkPolicy -}}
- ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
  {{- with $policy.dns.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- $apiServer := list }}
{{- range $policy.apiServer.cidrs }}
{{- $apiServer = append $apiServer (dict "ipBlock" (dict "cidr" .)) }}
{{- end }}
{{- /* A NetworkPolicy sees the API server's own addresses, not the kubernetes Service's. */}}
{{- include "switchyard.networkPolicyEgressRule" (dict "to" $apiServer "ports" $policy.apiServer.ports) | nindent 0 }}
{{- end }}

{{/* An ingress rule to one named port, from networkPolicy.metricsFrom (from anywhere when empty). */}}
{{- define "switchyard.networkPolicyScrapeIngress" -}}
- ports:
    - protocol: TCP
      port: {{ .port }}
  {{- with .from }}
  from:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{- /* Namespaced objects: <release>-operator, so several releases coexist. */ -}}
{{- define "fathom.fullname" -}}{{ printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" }}{{- end -}}

{{- /* Cluster-scoped objects: releases of the same name in two namespaces must not collide. */ -}}
{{- define "fathom.clusterName" -}}
{{ printf "%s-%s-operator" .Release.Namespace .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "fathom.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: fathom-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: fathom-stack
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "fathom.selector" -}}
app.kubernetes.io/name: fathom-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "fathom.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "fathom.operatorUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "fathom.fullname" . }}
{{- end -}}
{{- /* The kinds the operator writes (the RBAC rules' child kinds), for the admission policies. */ -}}
{{- define "fathom.childRules" -}}
- apiGroups: [""]
  apiVersions: ["*"]
  operations: [CREATE, UPDATE, DELETE]
  resources: [serviceaccounts, configmaps, services, persistentvolumeclaims]
- apiGroups: [apps]
  apiVersions: ["*"]
  operations: [CREATE, UPDATE, DELETE]
  resources: [deployments]
- apiGroups: [policy]
  apiVersions: ["*"]
  operations: [CREATE, UPDATE, DELETE]
  resources: [poddisruptionbudgets]
- apiGroups: [autoscaling]
  apiVersions: ["*"]
  operations: [CREATE, UPDATE, DELETE]
  resources: [horizontalpodautoscalers]
- apiGroups: [networking.k8s.io]
  apiVersions: ["*"]
  operations: [CREATE, UPDATE, DELETE]
  resources: [networkpolicies]
- apiGroups: [monitoring.coreos.com]
  apiVersions: ["*"]
  operations: [CREATE, UPDATE, DELETE]
  resources: [servicemonitors, podmonitors, prometheusrules]
{{- end -}}

{{- /* Configurations that install but cannot work: refused with the reason. */ -}}
{{- define "fathom.checks" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.peering.enabled) -}}
{{- fail "replicas > 1 needs peering.enabled=true: without leader election every replica would reconcile every stack" -}}
{{- end -}}
{{- if and .Values.exampleStack.enabled .Values.watchNamespaces (not (has .Release.Namespace .Values.watchNamespaces)) -}}
{{- fail (printf "exampleStack is created in %s, which watchNamespaces does not include: no operator would reconcile it" .Release.Namespace) -}}
{{- end -}}
{{- end -}}

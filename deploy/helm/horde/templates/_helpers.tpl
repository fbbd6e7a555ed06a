{{- define "horde.fullname" -}}
{{- if contains "horde" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-horde" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "horde.selectorLabels" -}}
app.kubernetes.io/name: horde
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "horde.labels" -}}
{{ include "horde.selectorLabels" . }}
app.kubernetes.io/part-of: horde
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "horde.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{- define "horde.secretName" -}}
{{- .Values.auth.existingSecret | default (printf "%s-credentials" (include "horde.fullname" .)) -}}
{{- end -}}

{{- define "horde.scenarioConfigMap" -}}
{{- .Values.scenario.existingConfigMap | default (printf "%s-scenario" (include "horde.fullname" .)) -}}
{{- end -}}

{{- define "horde.targetName" -}}
{{ include "horde.fullname" . }}-target
{{- end -}}

{{- define "horde.host" -}}
{{- if .Values.host -}}
{{ .Values.host }}
{{- else if .Values.sampleApp.enabled -}}
http://{{ include "horde.targetName" . }}:8080
{{- end -}}
{{- end -}}

{{/* Service links would put HORDE_MASTER_PORT=tcp://... into the environment, which horde
reads as its --master-port flag. */}}
{{- define "horde.podSpecCommon" -}}
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

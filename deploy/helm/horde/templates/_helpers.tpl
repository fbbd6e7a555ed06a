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

{{/* "true" when the workers have a token: auth.workerToken, a generated one, or the existing
Secret's worker-token. */}}
{{- define "horde.hasWorkerToken" -}}
{{- if or .Values.auth.existingSecret .Values.auth.workerToken .Values.auth.generateWorkerToken -}}
true
{{- end -}}
{{- end -}}

{{/* A worker receives the scenario and its data files (credentials, tokens in headers, the
target's address), and its reports are counted: without a token, refuse to render unless
workers.allowOpen says to let anyone who reaches the master's port 5557 join. */}}
{{- define "horde.checkWorkerToken" -}}
{{- if and (not (include "horde.hasWorkerToken" .)) (not .Values.workers.allowOpen) -}}
{{- fail "no worker token: anyone who reaches the master's port 5557 would receive the scenario and its data files and could report made-up statistics. Set auth.workerToken, leave auth.generateWorkerToken true, or name auth.existingSecret (key worker-token); or set workers.allowOpen=true to let any worker join (horde master --allow-open-workers)" -}}
{{- end -}}
{{- end -}}

{{/* The worker-token env entry of the master and the workers, when there is a token. With
workers.allowOpen an existing Secret may lack the key. */}}
{{- define "horde.workerTokenEnv" -}}
{{- if include "horde.hasWorkerToken" . -}}
- name: HORDE_WORKER_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ include "horde.secretName" . }}, key: worker-token{{ if .Values.workers.allowOpen }}, optional: true{{ end }}}
{{- end }}
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

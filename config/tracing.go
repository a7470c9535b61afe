package config

import "strings"

// The standard OpenTelemetry variables that decide whether Reelay exports
// traces. The exporter reads the other OTEL_EXPORTER_OTLP_* variables itself
// (headers, timeout, TLS), and the SDK reads OTEL_TRACES_SAMPLER* and
// OTEL_BSP_*.
const (
	EnvOTLPEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvOTLPTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvOTelSDKDisabled    = "OTEL_SDK_DISABLED"
	EnvOTelServiceName    = "OTEL_SERVICE_NAME"
)

// Tracing says whether spans are recorded and exported.
type Tracing struct {
	// Export is true when OTEL_EXPORTER_OTLP_ENDPOINT or
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set and OTEL_SDK_DISABLED is not
	// "true" (in any case): spans go to that endpoint with OTLP over HTTP.
	// When false, nothing is traced and tracing costs nothing per request
	// or event.
	Export bool
	// ServiceName is OTEL_SERVICE_NAME, "reelay" by default.
	ServiceName string
}

func loadTracing(getenv func(string) string) Tracing {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	t := Tracing{ServiceName: get(EnvOTelServiceName)}
	if t.ServiceName == "" {
		t.ServiceName = "reelay"
	}
	t.Export = (get(EnvOTLPEndpoint) != "" || get(EnvOTLPTracesEndpoint) != "") &&
		!strings.EqualFold(get(EnvOTelSDKDisabled), "true")
	return t
}

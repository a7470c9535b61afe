package config_test

import (
	"testing"

	"github.com/reelay/reelay/config"
)

func TestLoadTracing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want config.Tracing
	}{
		{"off by default", nil, config.Tracing{ServiceName: "reelay"}},
		{"endpoint", map[string]string{config.EnvOTLPEndpoint: "http://collector:4318"},
			config.Tracing{Export: true, ServiceName: "reelay"}},
		{"traces endpoint and service name", map[string]string{config.EnvOTLPTracesEndpoint: "http://c:4318/v1/traces",
			config.EnvOTelServiceName: "catalog"}, config.Tracing{Export: true, ServiceName: "catalog"}},
		{"SDK disabled", map[string]string{config.EnvOTLPEndpoint: "http://c:4318", config.EnvOTelSDKDisabled: "TRUE"},
			config.Tracing{ServiceName: "reelay"}},
		{"SDK disabled=false", map[string]string{config.EnvOTLPEndpoint: "http://c:4318", config.EnvOTelSDKDisabled: "false"},
			config.Tracing{Export: true, ServiceName: "reelay"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Tracing != tc.want {
				t.Fatalf("Tracing = %+v, want %+v", c.Tracing, tc.want)
			}
		})
	}
}

package config_test

import (
	"strings"
	"testing"

	"github.com/reelay/reelay/config"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"postgres://u:s3cret@db:5432/app?sslmode=disable&password=s3cret": "postgres://…@db:5432/…",
		"https://hooks.example/T0/s3cret?token=s3cret":                    "https://hooks.example/…",
		"http://hooks.example":                                            "http://hooks.example",
		"mysql://u:s3cret@h/db":                                           "mysql://…@h/…",
		"not a url s3cret":                                                "<unparsable URL>",
		"postgres://u:s3cret@[::1":                                        "<unparsable URL>",
	}
	for in, want := range cases {
		if got := config.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestConfigErrorsHideSecrets: a bad URL's error names the variable but
// never shows its credentials, path or query.
func TestConfigErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{
		{config.EnvDatabaseURL: "mysql://u:s3cret@h/db?token=s3cret"},
		{config.EnvDatabaseURL: "postgres://u:s3cret@/db?token=s3cret"},
		{config.EnvNotifyWebhookURL: "ftp://u:s3cret@hooks/s3cret?token=s3cret"},
	} {
		_, err := config.Load(func(k string) string { return env[k] })
		if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("%v: err = %v, want one line without the secret", env, err)
		}
		for k := range env {
			if err != nil && !strings.Contains(err.Error(), k) {
				t.Errorf("err %v does not name %s", err, k)
			}
		}
	}
}

package main

import (
	"io"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s", minSecretLength)
	env := func(v string) func(string) string {
		return func(name string) string {
			if name == "AUTH_SECRET" {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name    string
		args    []string
		env     string
		wantErr string
	}{
		{name: "defaults with the secret from the environment", env: secret},
		{name: "flag secret", args: []string{"-secret", secret, "-groups", "3"}},
		{name: "no secret", wantErr: "-secret"},
		{name: "short secret", args: []string{"-secret", "short"}, wantErr: "at least 32 bytes"},
		{name: "zero groups", args: []string{"-groups", "0"}, env: secret, wantErr: "-groups"},
		{name: "negative rate", args: []string{"-rate", "-1"}, env: secret, wantErr: "-rate"},
		{name: "bad url", args: []string{"-url", "127.0.0.1:8080"}, env: secret, wantErr: "-url"},
		{name: "stray argument", args: []string{"extra"}, env: secret, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseConfig(tt.args, env(tt.env), io.Discard)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("parseConfig: %v", err)
				}
				if string(cfg.Secret) != secret || cfg.streams() != cfg.Groups*cfg.Subscribers {
					t.Errorf("config = %+v", cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseConfig = %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}

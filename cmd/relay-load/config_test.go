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
		{name: "unknown shape", args: []string{"-shape", "ring"}, env: secret, wantErr: "-shape"},
		{name: "inbox flag with the groups shape", args: []string{"-users", "10"}, env: secret,
			wantErr: "-users: does not apply to -shape groups"},
		{name: "groups flag with the inbox shape", args: []string{"-shape", "inbox", "-subscribers", "3"}, env: secret,
			wantErr: "-subscribers: does not apply to -shape inbox"},
		{name: "zero users", args: []string{"-shape", "inbox", "-users", "0"}, env: secret, wantErr: "-users"},
		{name: "zero conversations per user", args: []string{"-shape", "inbox", "-conversations-per-user", "0"}, env: secret,
			wantErr: "-conversations-per-user"},
		{name: "more members than users", args: []string{"-shape", "inbox", "-users", "3", "-members", "4"}, env: secret,
			wantErr: "-members: must be from 1 to -users (3)"},
		{name: "zero members", args: []string{"-shape", "inbox", "-members", "0"}, env: secret, wantErr: "-members"},
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

func TestParseConfigInbox(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s", minSecretLength)
	args := []string{"-secret", secret, "-shape", "inbox", "-users", "10", "-conversations-per-user", "7", "-members", "4"}
	cfg, err := parseConfig(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	// 10 users in groups of 4: rounds of 3 groups (4, 4 and 2), 7 rounds.
	if cfg.streams() != 10 || cfg.groupCount() != 21 {
		t.Errorf("streams %d, groups %d; want 10 inbox streams over 21 groups", cfg.streams(), cfg.groupCount())
	}
	if def, err := parseConfig([]string{"-secret", secret}, func(string) string { return "" }, io.Discard); err != nil ||
		def.Shape != shapeGroups || def.groupCount() != def.Groups {
		t.Errorf("default config %+v, %v; want the groups shape", def, err)
	}
}

package app

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// URL returns the address a person on this machine opens to reach an
// instance listening on cfg.Addr: a wildcard host becomes 127.0.0.1.
func URL(cfg Config) string {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return "http://" + cfg.Addr + "/"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// DevBanner is what `relay serve` prints once it listens in development
// mode: where to open the demo page, and what is not for production.
func DevBanner(cfg Config, store string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n  Relay is running in development mode.\n\n")
	fmt.Fprintf(&b, "    Open %s in two browser windows, pick a name in each, and chat.\n\n", URL(cfg))
	fmt.Fprintf(&b, "  Store: %s\n", store)
	fmt.Fprintf(&b, "  Tokens: POST %sdev/token {\"sub\":\"u_alice\"}", URL(cfg))
	if cfg.RandomSecret {
		b.WriteString(" (random AUTH_SECRET: they stop working when Relay stops)")
	}
	b.WriteString("\n  Never run RELAY_DEV=1 where others can reach it: anyone may act as anyone.\n\n")
	return b.String()
}

// StoreDescription names the store cfg selects, for people: the SQLite
// file, or the database URL without its password.
func StoreDescription(cfg Config) string {
	if cfg.UsesSQLite() {
		return "SQLite file " + cfg.SQLitePath + " (DATABASE_URL=postgres://… for PostgreSQL)"
	}
	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil || u.Scheme == "" {
		return cfg.DatabaseURL
	}
	return u.Redacted()
}

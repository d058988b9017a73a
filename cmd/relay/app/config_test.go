package app_test

import (
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/sqlite"
	"github.com/relaymsg/relay/adapters/sqlstore"
	"github.com/relaymsg/relay/cmd/relay/app"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func validEnv() map[string]string {
	return map[string]string{
		"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/relay?sslmode=disable",
		"AUTH_SECRET":  strings.Repeat("s", app.MinAuthSecretLength),
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := app.LoadConfig(env(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":8080" || cfg.Heartbeat != 15*time.Second || cfg.SSERetry != 2*time.Second ||
		cfg.QueueSize != 256 || cfg.MaxBodyBytes != 256<<10 || cfg.LogLevel != slog.LevelInfo || cfg.LogFormat != "json" ||
		cfg.RedisClientName != "relay" || cfg.HeadInterval != 5*time.Second || cfg.ReadTimeout != 30*time.Second ||
		cfg.RequestTimeout != 10*time.Second || cfg.MaxGroupMembers != 5000 ||
		cfg.SSEWriteTimeout != 10*time.Second || cfg.DBMaxOpenConns != 20 ||
		cfg.DBConnectTimeout != 5*time.Second || cfg.ShutdownTimeout != 15*time.Second ||
		cfg.RedisPrefix != "relay:" {
		t.Fatalf("defaults: %+v", cfg)
	}
	wantLimits := httpapi.Limits{
		MaxStreamsPerUser: 50, MaxStreams: 10000,
		SSEConnect:         httpapi.Rate{PerSecond: 20, Burst: 100},
		Publish:            httpapi.Rate{PerSecond: 20, Burst: 40},
		DMCreate:           httpapi.Rate{PerSecond: 5, Burst: 20},
		GroupCreate:        httpapi.Rate{PerSecond: 1, Burst: 10},
		MemberAdd:          httpapi.Rate{PerSecond: 5, Burst: 50},
		ServicePublish:     httpapi.Rate{PerSecond: 1000, Burst: 2000},
		ServiceDMCreate:    httpapi.Rate{PerSecond: 100, Burst: 200},
		ServiceGroupCreate: httpapi.Rate{PerSecond: 100, Burst: 200},
		ServiceMemberAdd:   httpapi.Rate{PerSecond: 500, Burst: 1000},
		Read:               httpapi.Rate{PerSecond: 20, Burst: 40},
	}
	if cfg.Limits != wantLimits {
		t.Fatalf("default limits:\n got %+v\nwant %+v", cfg.Limits, wantLimits)
	}

	// Without DATABASE_URL: the embedded SQLite file, one instance.
	vars := validEnv()
	delete(vars, "DATABASE_URL")
	cfg, err = app.LoadConfig(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.UsesSQLite() || cfg.SQLitePath != app.DefaultSQLitePath || cfg.DatabaseURL != "" || cfg.Notifier != app.NotifierMemory {
		t.Fatalf("defaults without DATABASE_URL: %+v; want SQLite %s and the memory notifier", cfg, app.DefaultSQLitePath)
	}
}

func TestLoadConfigReadsEveryVariable(t *testing.T) {
	t.Parallel()
	vars := validEnv()
	for k, v := range map[string]string{
		"ADDR": "127.0.0.1:9000", "DEBUG_ADDR": "[::1]:6060", "HEARTBEAT_INTERVAL": "3s", "SSE_RETRY": "500ms", "SSE_WRITE_TIMEOUT": "4s", "SSE_WRITE_DELAY": "0",
		"MAX_BODY_BYTES": "65536", "REQUEST_READ_TIMEOUT": "7s", "REQUEST_TIMEOUT": "6s", "SUBSCRIBER_QUEUE_SIZE": "64", "DB_MAX_OPEN_CONNS": "7",
		"MAX_GROUP_MEMBERS": "250", "DB_CONNECT_TIMEOUT": "3s", "SHUTDOWN_TIMEOUT": "5s", "LOG_LEVEL": "debug", "LOG_FORMAT": "TEXT",
		"REDIS_URL": "redis://127.0.0.1:6379/2", "REDIS_PREFIX": "relay-staging:",
		"REDIS_CLIENT_NAME": "relay-pod-7", "NOTIFIER_HEAD_INTERVAL": "30s",
		"MAX_STREAMS_PER_USER": "5", "MAX_STREAMS": "0", "SSE_CONNECT_RATE": "0", "SSE_CONNECT_BURST": "3",
		"PUBLISH_RATE": "2.5", "PUBLISH_BURST": "4", "DM_CREATE_RATE": "1.5", "DM_CREATE_BURST": "3", "GROUP_CREATE_RATE": "0.1", "GROUP_CREATE_BURST": "2",
		"MEMBER_ADD_RATE": "3", "MEMBER_ADD_BURST": "6", "SERVICE_PUBLISH_RATE": "5000", "SERVICE_PUBLISH_BURST": "9000",
		"SERVICE_DM_CREATE_RATE": "11", "SERVICE_DM_CREATE_BURST": "12",
		"SERVICE_GROUP_CREATE_RATE": "7", "SERVICE_GROUP_CREATE_BURST": "8",
		"SERVICE_MEMBER_ADD_RATE": "9", "SERVICE_MEMBER_ADD_BURST": "10",
		"READ_RATE": "13", "READ_BURST": "14",
	} {
		vars[k] = v
	}
	cfg, err := app.LoadConfig(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	want := app.Config{
		Addr: "127.0.0.1:9000", DebugAddr: "[::1]:6060", DatabaseURL: vars["DATABASE_URL"], AuthSecret: []byte(vars["AUTH_SECRET"]),
		Notifier: app.NotifierRedis, RedisURL: "redis://127.0.0.1:6379/2", RedisPrefix: "relay-staging:",
		RedisClientName: "relay-pod-7", HeadInterval: 30 * time.Second,
		Heartbeat: 3 * time.Second, SSERetry: 500 * time.Millisecond, SSEWriteTimeout: 4 * time.Second,
		MaxBodyBytes: 65536, ReadTimeout: 7 * time.Second, RequestTimeout: 6 * time.Second, QueueSize: 64, MaxGroupMembers: 250, DBMaxOpenConns: 7, DBConnectTimeout: 3 * time.Second, ShutdownTimeout: 5 * time.Second,
		LogLevel: slog.LevelDebug, LogFormat: "text",
		// 0 turns a limit off: a negative count, an unlimited rate.
		Limits: httpapi.Limits{
			MaxStreamsPerUser: 5, MaxStreams: -1, SSEConnect: httpapi.Unlimited,
			Publish: httpapi.Rate{PerSecond: 2.5, Burst: 4}, DMCreate: httpapi.Rate{PerSecond: 1.5, Burst: 3}, GroupCreate: httpapi.Rate{PerSecond: 0.1, Burst: 2},
			MemberAdd: httpapi.Rate{PerSecond: 3, Burst: 6}, ServicePublish: httpapi.Rate{PerSecond: 5000, Burst: 9000},
			ServiceDMCreate: httpapi.Rate{PerSecond: 11, Burst: 12}, ServiceGroupCreate: httpapi.Rate{PerSecond: 7, Burst: 8}, ServiceMemberAdd: httpapi.Rate{PerSecond: 9, Burst: 10},
			Read: httpapi.Rate{PerSecond: 13, Burst: 14},
		},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("config:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestLoadConfigNamesTheBadVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		variable, value string
	}{
		{"DATABASE_URL", "mysql://localhost/relay"},
		{"DATABASE_URL", "sqlite:"},
		{"AUTH_SECRET", ""},
		{"AUTH_SECRET", "short"},
		{"ADDR", "8080"},
		{"DEBUG_ADDR", ":6060"}, // every interface
		{"DEBUG_ADDR", "0.0.0.0:6060"},
		{"DEBUG_ADDR", "10.0.0.7:6060"},
		{"DEBUG_ADDR", "127.0.0.1"},
		{"HEARTBEAT_INTERVAL", "banana"},
		{"HEARTBEAT_INTERVAL", "10ms"},
		{"SSE_RETRY", "-1s"},
		{"SSE_WRITE_DELAY", "2s"},
		{"SSE_WRITE_DELAY", "-1ms"},
		{"MAX_BODY_BYTES", "12x"},
		{"REQUEST_READ_TIMEOUT", "100ms"},
		{"REQUEST_TIMEOUT", "soon"},
		{"SUBSCRIBER_QUEUE_SIZE", "1"},
		{"DB_MAX_OPEN_CONNS", "0"},
		{"MAX_GROUP_MEMBERS", "1"},
		{"MAX_GROUP_MEMBERS", "5k"},
		{"MAX_GROUP_MEMBERS", "-5000"},
		{"MAX_GROUP_MEMBERS", "1000001"},
		{"DB_CONNECT_TIMEOUT", "500ms"},
		{"SHUTDOWN_TIMEOUT", "1h"},
		{"LOG_LEVEL", "loud"},
		{"LOG_FORMAT", "xml"},
		{"REDIS_URL", "http://127.0.0.1:6379"},
		{"NOTIFIER", "carrier-pigeon"},
		{"REDIS_CLIENT_NAME", "relay pod"},
		{"REDIS_CLIENT_NAME", strings.Repeat("r", 65)},
		{"NOTIFIER_HEAD_INTERVAL", "10ms"},
		{"RELAY_DEV", "maybe"},
		{"MAX_STREAMS_PER_USER", "-1"},
		{"MAX_STREAMS", "lots"},
		{"MAX_STREAMS", "100000000"},
		{"SSE_CONNECT_RATE", "-5"},
		{"SSE_CONNECT_RATE", "NaN"},
		{"SSE_CONNECT_BURST", "0"},
		{"PUBLISH_RATE", "20/s"},
		{"PUBLISH_BURST", "1.5"},
		{"DM_CREATE_RATE", "many"},
		{"DM_CREATE_BURST", "0"},
		{"SERVICE_DM_CREATE_BURST", "-3"},
		{"GROUP_CREATE_RATE", "1e9"},
		{"GROUP_CREATE_BURST", "-1"},
		{"MEMBER_ADD_RATE", "fast"},
		{"MEMBER_ADD_BURST", "0"},
		{"SERVICE_PUBLISH_RATE", "-1"},
		{"SERVICE_PUBLISH_BURST", "0"},
		{"SERVICE_GROUP_CREATE_RATE", "x"},
		{"SERVICE_GROUP_CREATE_BURST", "0"},
		{"SERVICE_MEMBER_ADD_RATE", "Inf"},
		{"SERVICE_MEMBER_ADD_BURST", "0"},
		{"READ_RATE", "often"},
		{"READ_BURST", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.variable+"="+tt.value, func(t *testing.T) {
			t.Parallel()
			vars := validEnv()
			vars[tt.variable] = tt.value
			_, err := app.LoadConfig(env(vars))
			var cerr *app.ConfigError
			if !errors.As(err, &cerr) || cerr.Variable != tt.variable {
				t.Fatalf("LoadConfig error = %v, want a ConfigError naming %s", err, tt.variable)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, tt.variable) {
				t.Fatalf("error %q is not one line naming %s", msg, tt.variable)
			}
		})
	}
}

func TestLoadConfigNotifier(t *testing.T) {
	t.Parallel()
	const sqliteURL = "sqlite:relay.db"
	tests := []struct {
		notifier, redisURL string
		databaseURL        string // "": validEnv's PostgreSQL
		want               string // "" when start-up must stop
		badVariable        string
	}{
		{"", "", "", app.NotifierMemory, ""},
		{"", "redis://127.0.0.1:6379/0", "", app.NotifierRedis, ""},
		{"redis", "redis://127.0.0.1:6379/0", "", app.NotifierRedis, ""},
		{"memory", "", "", app.NotifierMemory, ""},
		{"postgres", "", "", app.NotifierPostgres, ""},
		{"postgres", "redis://127.0.0.1:6379/0", "", "", "NOTIFIER"},
		{"redis", "", "", "", "REDIS_URL"},
		{"memory", "redis://127.0.0.1:6379/0", "", "", "NOTIFIER"},
		// SQLite serves one instance: only the memory notifier goes with it.
		{"", "", sqliteURL, app.NotifierMemory, ""},
		{"memory", "", sqliteURL, app.NotifierMemory, ""},
		{"redis", "redis://127.0.0.1:6379/0", sqliteURL, "", "NOTIFIER"},
		{"postgres", "", sqliteURL, "", "NOTIFIER"},
		{"", "redis://127.0.0.1:6379/0", sqliteURL, "", "REDIS_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.notifier+","+tt.redisURL+","+tt.databaseURL, func(t *testing.T) {
			t.Parallel()
			vars := validEnv()
			vars["NOTIFIER"], vars["REDIS_URL"] = tt.notifier, tt.redisURL
			if tt.databaseURL != "" {
				vars["DATABASE_URL"] = tt.databaseURL
			}
			cfg, err := app.LoadConfig(env(vars))
			if tt.want != "" {
				if err != nil || cfg.Notifier != tt.want {
					t.Fatalf("Notifier = %q, %v; want %q", cfg.Notifier, err, tt.want)
				}
				return
			}
			var cerr *app.ConfigError
			if !errors.As(err, &cerr) || cerr.Variable != tt.badVariable || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line naming %s", err, tt.badVariable)
			}
		})
	}
}

// TestWiring checks that fx can build the whole graph (every constructor's
// dependencies are provided) without starting anything: on PostgreSQL with
// each notifier, and on SQLite.
func TestWiring(t *testing.T) {
	t.Parallel()
	cfg, err := app.LoadConfig(env(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, notifier := range []string{app.NotifierMemory, app.NotifierRedis, app.NotifierPostgres} {
		cfg.Notifier, cfg.RedisURL = notifier, ""
		if notifier == app.NotifierRedis {
			cfg.RedisURL = "redis://127.0.0.1:6379/0"
		}
		if err := fx.ValidateApp(app.Options(cfg, logger)); err != nil {
			t.Fatalf("NOTIFIER=%s: %v", notifier, err)
		}
	}

	vars := validEnv()
	vars["DATABASE_URL"] = "sqlite:" + t.TempDir() + "/relay.db"
	cfg, err = app.LoadConfig(env(vars))
	if err != nil || !cfg.UsesSQLite() {
		t.Fatalf("LoadConfig(SQLite) = %+v, %v", cfg, err)
	}
	// The graph holds SQLite's store and the readiness check's health
	// checker, and nothing of PostgreSQL's.
	var (
		lite   sqlite.Config
		health *sqlstore.HealthChecker
		pg     postgres.Config
	)
	if err := fx.ValidateApp(app.Options(cfg, logger), fx.Populate(&lite, &health)); err != nil {
		t.Fatalf("SQLite: %v", err)
	}
	if err := fx.ValidateApp(app.Options(cfg, logger), fx.Populate(&pg)); err == nil {
		t.Fatal("the SQLite wiring provides postgres.Config too")
	}
}

func TestLoadConfigDevMode(t *testing.T) {
	t.Parallel()
	noSecret := validEnv()
	delete(noSecret, "AUTH_SECRET")

	if _, err := app.LoadConfig(env(noSecret)); err == nil || !strings.Contains(err.Error(), "AUTH_SECRET") {
		t.Fatalf("no AUTH_SECRET outside dev mode: %v, want an error naming it", err)
	}
	var secrets []string
	for _, on := range []string{"1", "true", "YES"} {
		vars := validEnv()
		delete(vars, "AUTH_SECRET")
		vars["RELAY_DEV"] = on
		cfg, err := app.LoadConfig(env(vars))
		if err != nil {
			t.Fatalf("RELAY_DEV=%s: %v", on, err)
		}
		if !cfg.Dev || !cfg.RandomSecret || len(cfg.AuthSecret) < app.MinAuthSecretLength {
			t.Fatalf("RELAY_DEV=%s: dev %v, random secret %v of %d bytes; want a random secret of at least %d",
				on, cfg.Dev, cfg.RandomSecret, len(cfg.AuthSecret), app.MinAuthSecretLength)
		}
		secrets = append(secrets, string(cfg.AuthSecret))
	}
	if secrets[0] == secrets[1] {
		t.Fatal("two starts made up the same secret")
	}

	given := validEnv()
	given["RELAY_DEV"] = "1"
	cfg, err := app.LoadConfig(env(given))
	if err != nil || string(cfg.AuthSecret) != given["AUTH_SECRET"] || cfg.RandomSecret {
		t.Fatalf("RELAY_DEV with AUTH_SECRET: secret %q random %v (%v); want the one given", cfg.AuthSecret, cfg.RandomSecret, err)
	}
	for _, off := range []string{"", "0", "false", "no"} {
		vars := validEnv()
		vars["RELAY_DEV"] = off
		if cfg, err := app.LoadConfig(env(vars)); err != nil || cfg.Dev {
			t.Fatalf("RELAY_DEV=%q: dev %v, %v; want off", off, cfg.Dev, err)
		}
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		":8080":          "http://127.0.0.1:8080/",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/",
		"[::]:9000":      "http://127.0.0.1:9000/",
		"127.0.0.1:8080": "http://127.0.0.1:8080/",
		"relay.lan:80":   "http://relay.lan:80/",
	} {
		if got := app.URL(app.Config{Addr: addr}); got != want {
			t.Errorf("URL(%q) = %q, want %q", addr, got, want)
		}
	}
	cfg := app.Config{Addr: ":8080", RandomSecret: true, SQLitePath: "relay.db"}
	banner := app.DevBanner(cfg, app.StoreDescription(cfg))
	for _, want := range []string{"http://127.0.0.1:8080/", "/dev/token", "random AUTH_SECRET", "SQLite file relay.db"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner %q does not say %q", banner, want)
		}
	}
}

func TestStoreDescriptionHidesThePassword(t *testing.T) {
	t.Parallel()
	got := app.StoreDescription(app.Config{DatabaseURL: "postgres://relay:hunter2@db:5432/relay?sslmode=require"})
	if strings.Contains(got, "hunter2") || !strings.Contains(got, "db:5432/relay") {
		t.Fatalf("StoreDescription = %q, want the URL without its password", got)
	}
}

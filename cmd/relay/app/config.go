package app

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/redis"
	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
)

// Config is everything Relay reads from its environment. LoadConfig fills
// it; tests build it directly.
type Config struct {
	Addr            string        // ADDR
	DebugAddr       string        // DEBUG_ADDR: pprof on a loopback address; empty, off
	DatabaseURL     string        // DATABASE_URL when it names PostgreSQL; empty with SQLite
	SQLitePath      string        // the SQLite file DATABASE_URL names (DefaultSQLitePath when unset); empty with PostgreSQL
	Notifier        string        // NOTIFIER: memory, redis or postgres
	RedisURL        string        // REDIS_URL
	RedisPrefix     string        // REDIS_PREFIX
	RedisClientName string        // REDIS_CLIENT_NAME
	HeadInterval    time.Duration // NOTIFIER_HEAD_INTERVAL
	AuthSecret      []byte        // AUTH_SECRET
	Dev             bool          // RELAY_DEV: development mode
	// RandomSecret says AuthSecret was made up at start-up (development
	// mode without AUTH_SECRET): tokens die with the process.
	RandomSecret    bool
	Heartbeat       time.Duration // HEARTBEAT_INTERVAL
	SSERetry        time.Duration // SSE_RETRY
	SSEWriteTimeout time.Duration // SSE_WRITE_TIMEOUT
	SSEWriteDelay   time.Duration // SSE_WRITE_DELAY: a busy stream's writes coalesce over this
	MaxBodyBytes    int64         // MAX_BODY_BYTES
	ReadTimeout     time.Duration // REQUEST_READ_TIMEOUT
	RequestTimeout  time.Duration // REQUEST_TIMEOUT
	QueueSize       int           // SUBSCRIBER_QUEUE_SIZE
	MaxGroupMembers int           // MAX_GROUP_MEMBERS
	DBMaxOpenConns  int           // DB_MAX_OPEN_CONNS (PostgreSQL only)
	// DBConnectTimeout bounds each new PostgreSQL connection, TCP connect
	// and startup handshake (DB_CONNECT_TIMEOUT), unless DATABASE_URL sets
	// connect_timeout.
	DBConnectTimeout time.Duration
	ShutdownTimeout  time.Duration // SHUTDOWN_TIMEOUT
	LogLevel         slog.Level    // LOG_LEVEL
	LogFormat        string        // LOG_FORMAT: json or text
	// Limits are MAX_STREAMS_PER_USER, MAX_STREAMS and the *_RATE and
	// *_BURST pairs (see readLimits); a 0 turns a limit off.
	Limits httpapi.Limits
}

// Defaults of the settings that belong to the service as a whole rather
// than to one adapter; the others are the adapters' and use cases' own
// (httpapi.DefaultRetryInterval, memory.DefaultQueueSize, …).
const (
	// DefaultAddr is the listen address when ADDR is unset.
	DefaultAddr = ":8080"
	// DefaultRedisClientName is the CLIENT SETNAME of the Redis
	// connections when REDIS_CLIENT_NAME is unset.
	DefaultRedisClientName = "relay"
	// DefaultShutdownTimeout bounds start-up and graceful shutdown when
	// SHUTDOWN_TIMEOUT is unset.
	DefaultShutdownTimeout = 15 * time.Second
)

// MinAuthSecretLength is the shortest AUTH_SECRET accepted: an HS256 key
// shorter than this is guessable.
const MinAuthSecretLength = 32

// ConfigError names the environment variable whose value stopped start-up.
type ConfigError struct {
	Variable string
	Reason   string
}

// Error implements error; it is the one line printed when start-up stops.
func (e *ConfigError) Error() string { return "config: " + e.Variable + ": " + e.Reason }

// LoadConfig reads the configuration through getenv (os.Getenv in main). A
// missing or bad value is a *ConfigError naming the variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := envReader{getenv: getenv}
	dev := r.boolean("RELAY_DEV")
	cfg := Config{
		Dev:             dev,
		Addr:            r.addr("ADDR", DefaultAddr),
		DebugAddr:       r.loopbackAddr("DEBUG_ADDR"),
		RedisURL:        r.redisURL("REDIS_URL"),
		RedisPrefix:     r.text("REDIS_PREFIX", redis.DefaultPrefix),
		RedisClientName: r.redisClientName("REDIS_CLIENT_NAME", DefaultRedisClientName),
		HeadInterval:    r.duration("NOTIFIER_HEAD_INTERVAL", cluster.DefaultHeadInterval, 100*time.Millisecond, 10*time.Minute),
		AuthSecret:      r.secret("AUTH_SECRET", dev),
		Heartbeat:       r.duration("HEARTBEAT_INTERVAL", application.DefaultHeartbeat, time.Second, time.Hour),
		SSERetry:        r.duration("SSE_RETRY", httpapi.DefaultRetryInterval, 100*time.Millisecond, time.Hour),
		SSEWriteTimeout: r.duration("SSE_WRITE_TIMEOUT", httpapi.DefaultWriteTimeout, time.Second, time.Hour),
		SSEWriteDelay:   r.duration("SSE_WRITE_DELAY", application.DefaultWriteDelay, 0, time.Second),
		MaxBodyBytes:    int64(r.integer("MAX_BODY_BYTES", httpapi.DefaultMaxBodyBytes, 16<<10, 64<<20)),
		ReadTimeout:     r.duration("REQUEST_READ_TIMEOUT", httpapi.DefaultReadTimeout, time.Second, 10*time.Minute),
		RequestTimeout:  r.duration("REQUEST_TIMEOUT", httpapi.DefaultRequestTimeout, time.Second, 10*time.Minute),
		QueueSize:       r.integer("SUBSCRIBER_QUEUE_SIZE", memory.DefaultQueueSize, 16, 1<<20),
		// A group of one cannot add anybody; far beyond a million, every
		// member's list and every fan-out of the group is the problem.
		MaxGroupMembers:  r.integer("MAX_GROUP_MEMBERS", domain.DefaultMaxGroupMembers, 2, 1_000_000),
		DBMaxOpenConns:   r.integer("DB_MAX_OPEN_CONNS", postgres.DefaultMaxOpenConns, 2, 10000),
		DBConnectTimeout: r.duration("DB_CONNECT_TIMEOUT", postgres.DefaultConnectTimeout, time.Second, 10*time.Minute),
		ShutdownTimeout:  r.duration("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout, time.Second, 10*time.Minute),
		LogLevel:         r.level("LOG_LEVEL"),
		LogFormat:        r.oneOf("LOG_FORMAT", map[bool]string{false: "json", true: "text"}[dev], "json", "text"),
	}
	cfg.Limits = r.limits()
	cfg.DatabaseURL, cfg.SQLitePath = r.store("DATABASE_URL")
	cfg.Notifier = r.notifier("NOTIFIER", cfg.RedisURL)
	if cfg.UsesSQLite() {
		r.singleInstance(cfg.Notifier)
	}
	if dev && cfg.AuthSecret == nil && r.err == nil {
		// Two 128-bit random texts: 52 bytes, over MinAuthSecretLength.
		cfg.AuthSecret, cfg.RandomSecret = []byte(rand.Text()+rand.Text()), true
	}
	return cfg, r.err
}

// UsesSQLite reports whether c stores in an SQLite file rather than in
// PostgreSQL.
func (c Config) UsesSQLite() bool { return c.SQLitePath != "" }

// singleInstance refuses a cross-instance notifier beside SQLite: one
// process owns the file, so there are no other instances to notify, and a
// second process on the same file would not be a cluster.
func (r *envReader) singleInstance(notifier string) {
	_, chosen := r.get("NOTIFIER")
	switch {
	case notifier == NotifierMemory:
	case !chosen: // REDIS_URL alone selected redis
		r.fail("REDIS_URL", "is set but DATABASE_URL names SQLite, which serves one instance: unset REDIS_URL or use PostgreSQL")
	default:
		r.fail("NOTIFIER", fmt.Sprintf("is %s but DATABASE_URL names SQLite, which serves one instance: use memory or PostgreSQL", notifier))
	}
}

// The notifiers NOTIFIER selects.
const (
	NotifierMemory   = "memory"   // one instance: in-process fan-out
	NotifierRedis    = "redis"    // many instances over Redis pub/sub (REDIS_URL)
	NotifierPostgres = "postgres" // many instances over PostgreSQL LISTEN/NOTIFY
)

// notifier reads NOTIFIER. Unset, it is redis when REDIS_URL is set and
// memory otherwise; set, it must agree with REDIS_URL, so that a
// deployment never runs a single-instance notifier by mistake.
func (r *envReader) notifier(name, redisURL string) string {
	if _, ok := r.get(name); !ok {
		if redisURL != "" {
			return NotifierRedis
		}
		return NotifierMemory
	}
	v := r.oneOf(name, NotifierMemory, NotifierMemory, NotifierRedis, NotifierPostgres)
	switch {
	case v == NotifierRedis && redisURL == "":
		r.fail("REDIS_URL", "is required when NOTIFIER=redis (for example redis://127.0.0.1:6379/0)")
	case v != NotifierRedis && redisURL != "":
		r.fail(name, fmt.Sprintf("is %s but REDIS_URL is set: unset one of them", v))
	}
	return v
}

func (r *envReader) redisURL(name string) string {
	v, ok := r.get(name)
	if !ok {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		r.fail(name, "must be a redis:// or rediss:// URL with a host (for example redis://127.0.0.1:6379/0)")
	}
	return v
}

func (r *envReader) text(name, def string) string {
	if v, ok := r.get(name); ok {
		return v
	}
	return def
}

// redisClientName reads the CLIENT SETNAME of the Redis connections: 1 to
// 64 printable ASCII characters without spaces, as Redis requires.
func (r *envReader) redisClientName(name, def string) string {
	v := r.text(name, def)
	ok := len(v) > 0 && len(v) <= 64
	for _, c := range v {
		ok = ok && c > ' ' && c <= '~'
	}
	if !ok {
		r.fail(name, fmt.Sprintf("%q is not 1 to 64 printable ASCII characters without spaces (for example relay-pod-7)", v))
	}
	return v
}

// envReader reads variables and keeps the first error, so LoadConfig reads
// like a table.
type envReader struct {
	getenv func(string) string
	err    error
}

func (r *envReader) fail(name, reason string) {
	if r.err == nil {
		r.err = &ConfigError{Variable: name, Reason: reason}
	}
}

func (r *envReader) get(name string) (string, bool) {
	v := strings.TrimSpace(r.getenv(name))
	return v, v != ""
}

func (r *envReader) addr(name, def string) string {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		r.fail(name, fmt.Sprintf("%q is not host:port (for example :8080 or 127.0.0.1:8080)", v))
	}
	return v
}

// loopbackAddr reads an optional host:port whose host is a loopback
// address (127.0.0.1, ::1 or localhost): what it serves has no
// authentication. Unset, it is empty.
func (r *envReader) loopbackAddr(name string) string {
	v, ok := r.get(name)
	if !ok {
		return ""
	}
	host, port, err := net.SplitHostPort(v)
	ip := net.ParseIP(host)
	if err != nil || port == "" || !(host == "localhost" || ip != nil && ip.IsLoopback()) {
		r.fail(name, fmt.Sprintf("%q is not a loopback host:port (for example 127.0.0.1:6060): it serves profiles without authentication", v))
	}
	return v
}

// boolean reads 1/true/yes or 0/false/no; unset is false.
func (r *envReader) boolean(name string) bool {
	switch r.oneOf(name, "0", "1", "true", "yes", "0", "false", "no") {
	case "1", "true", "yes":
		return true
	}
	return false
}

// secret reads the token secret; unset, it is an error unless optional
// (development mode makes one up).
func (r *envReader) secret(name string, optional bool) []byte {
	v, ok := r.get(name)
	if !ok {
		if !optional {
			r.fail(name, "is required: the HS256 secret that signs API tokens (or set RELAY_DEV=1 to try Relay with a random one)")
		}
		return nil
	}
	if len(v) < MinAuthSecretLength {
		r.fail(name, fmt.Sprintf("must be at least %d bytes long", MinAuthSecretLength))
	}
	return []byte(v)
}

func (r *envReader) duration(name string, def, lo, hi time.Duration) time.Duration {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		r.fail(name, fmt.Sprintf("%q is not a duration from %s to %s (for example 15s)", v, lo, hi))
		return def
	}
	return d
}

func (r *envReader) integer(name string, def, lo, hi int) int {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, fmt.Sprintf("%q is not an integer from %d to %d", v, lo, hi))
		return def
	}
	return n
}

// limits reads the per-instance limits. Each is explicit in the result,
// the defaults included, so that what runs is what the banner of a config
// dump would say; 0 turns a limit off (httpapi's negative count or
// Unlimited rate).
func (r *envReader) limits() httpapi.Limits {
	return httpapi.Limits{
		MaxStreamsPerUser:  r.count("MAX_STREAMS_PER_USER", httpapi.DefaultMaxStreamsPerUser),
		MaxStreams:         r.count("MAX_STREAMS", httpapi.DefaultMaxStreams),
		SSEConnect:         r.rate("SSE_CONNECT", httpapi.DefaultSSEConnectRate),
		Publish:            r.rate("PUBLISH", httpapi.DefaultPublishRate),
		DMCreate:           r.rate("DM_CREATE", httpapi.DefaultDMCreateRate),
		GroupCreate:        r.rate("GROUP_CREATE", httpapi.DefaultGroupCreateRate),
		MemberAdd:          r.rate("MEMBER_ADD", httpapi.DefaultMemberAddRate),
		Read:               r.rate("READ", httpapi.DefaultReadRate),
		ServicePublish:     r.rate("SERVICE_PUBLISH", httpapi.DefaultServicePublishRate),
		ServiceDMCreate:    r.rate("SERVICE_DM_CREATE", httpapi.DefaultServiceDMCreateRate),
		ServiceGroupCreate: r.rate("SERVICE_GROUP_CREATE", httpapi.DefaultServiceGroupCreateRate),
		ServiceMemberAdd:   r.rate("SERVICE_MEMBER_ADD", httpapi.DefaultServiceMemberAddRate),
	}
}

// maxLimit bounds every limit's value: far beyond any sane setting, it
// keeps a typo (an extra digit or ten) from passing as a limit.
const maxLimit = 10_000_000

// count reads a number of streams; 0 is no limit.
func (r *envReader) count(name string, def int) int {
	n := r.integer(name, def, 0, maxLimit)
	if n == 0 {
		return -1
	}
	return n
}

// rate reads prefix_RATE (tokens a second, fractions allowed; 0 is no
// limit) and prefix_BURST (at least 1).
func (r *envReader) rate(prefix string, def httpapi.Rate) httpapi.Rate {
	name := prefix + "_RATE"
	out := def
	if v, ok := r.get(name); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > maxLimit {
			r.fail(name, fmt.Sprintf("%q is not a number of requests a second from 0 (no limit) to %d", v, maxLimit))
		}
		out.PerSecond = f
	}
	out.Burst = r.integer(prefix+"_BURST", def.Burst, 1, maxLimit)
	if out.PerSecond == 0 {
		return httpapi.Unlimited
	}
	return out
}

func (r *envReader) level(name string) slog.Level {
	v, ok := r.get(name)
	if !ok {
		return slog.LevelInfo
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.fail(name, fmt.Sprintf("%q is not one of debug, info, warn, error", v))
	}
	return l
}

func (r *envReader) oneOf(name, def string, allowed ...string) string {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a
		}
	}
	r.fail(name, fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", ")))
	return def
}

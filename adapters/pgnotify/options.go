package pgnotify

import (
	"cmp"
	"log/slog"
	"time"
)

// maxChannelName is the longest identifier PostgreSQL keeps (NAMEDATALEN-1
// bytes): LISTEN would truncate a longer name and pg_notify refuses it.
const maxChannelName = 63

// Defaults applied to the zero fields of Options.
const (
	DefaultChannel         = "relay_events"
	DefaultApplicationName = "relay_listener"
	DefaultPublishTimeout  = time.Second
	DefaultPingTimeout     = time.Second
	DefaultConnectTimeout  = 10 * time.Second
	DefaultHealthInterval  = 5 * time.Second
	DefaultMinReconnect    = 50 * time.Millisecond
	DefaultMaxReconnect    = 2 * time.Second
)

// Options configures a Transport. Zero fields select the defaults.
type Options struct {
	// DSN locates the database for the listener connection (a postgres://
	// URL or key=value list): the database the instances share, since
	// NOTIFY reaches only listeners of the same database.
	DSN string
	// Channel is the PostgreSQL channel for all events. Deployments that
	// share a database but must not see each other use different ones.
	// Empty selects DefaultChannel.
	Channel string
	// ApplicationName names the listener connection in pg_stat_activity.
	// Empty selects DefaultApplicationName.
	ApplicationName string
	// StoreNotifies says that the MessageRepository issues each message's
	// NOTIFY in the transaction that stores it (WithNotify with
	// NotifyConfig), so Publish skips messages. Leave it false when nothing
	// else notifies: Publish then notifies messages itself, after commit.
	StoreNotifies bool
	// PublishTimeout bounds one pg_notify on the pool.
	PublishTimeout time.Duration
	// PingTimeout bounds a ping of the listener connection or of the pool.
	PingTimeout time.Duration
	// ConnectTimeout bounds each attempt to connect the listener, in whole
	// seconds, unless the DSN sets connect_timeout.
	ConnectTimeout time.Duration
	// HealthInterval is the pause between pings of the listener
	// connection, which find a connection that stopped answering.
	HealthInterval time.Duration
	// MinReconnect and MaxReconnect bound lib/pq's pause between attempts
	// to reconnect the listener. Close may wait up to MaxReconnect.
	MinReconnect, MaxReconnect time.Duration
	// Logger receives the transport's logs. Nil selects slog.Default().
	Logger *slog.Logger
}

func (o Options) channel() string { return cmp.Or(o.Channel, DefaultChannel) }

// NotifyConfig returns what the MessageRepository needs to notify on this
// channel (WithNotify), given the notifier's instance id.
func (o Options) NotifyConfig(origin string) NotifyConfig {
	return NotifyConfig{Channel: o.channel(), Origin: origin}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/relaymsg/relay/adapters/sqlstore"
)

// DefaultMaxOpenConns is PoolConfig's MaxOpenConns when it is zero.
const DefaultMaxOpenConns = 20

// PoolConfig sizes the connection pool. A zero field takes its default, so
// PoolConfig{} is a sensible configuration.
type PoolConfig struct {
	// MaxOpenConns bounds the connections to PostgreSQL
	// (DefaultMaxOpenConns). Every instance of the service holds up to this
	// many, so instances times MaxOpenConns must stay below the server's
	// max_connections.
	MaxOpenConns int
	// MaxIdleConns bounds the idle connections kept (default MaxOpenConns,
	// so a burst does not pay for reconnecting).
	MaxIdleConns int
	// ConnMaxLifetime recycles connections (default 30 minutes) so that a
	// fail-over or a load balancer in front of PostgreSQL is picked up.
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime closes connections idle that long (default 5 minutes).
	ConnMaxIdleTime time.Duration
	// ConnectTimeout bounds the first ping when ctx has no deadline
	// (default 10 seconds).
	ConnectTimeout time.Duration
	// Dial sets how each connection is made: its connect timeout, TCP
	// keepalive and TCP_USER_TIMEOUT (see DialConfig for the defaults).
	Dial DialConfig
}

func (c PoolConfig) withDefaults() PoolConfig {
	if c.MaxOpenConns <= 0 {
		c.MaxOpenConns = DefaultMaxOpenConns
	}
	if c.MaxIdleConns <= 0 || c.MaxIdleConns > c.MaxOpenConns {
		c.MaxIdleConns = c.MaxOpenConns
	}
	if c.ConnMaxLifetime <= 0 {
		c.ConnMaxLifetime = 30 * time.Minute
	}
	if c.ConnMaxIdleTime <= 0 {
		c.ConnMaxIdleTime = 5 * time.Minute
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	return c
}

// Open returns a connection pool to the PostgreSQL server named by dsn (a
// postgres:// URL or key=value list) once it has answered a ping. A
// malformed dsn is an error of its own; a server that cannot be reached
// wraps domain.ErrUnavailable. Open does not retry: whoever starts the
// service decides whether to wait for the database. The caller closes the
// pool.
func Open(ctx context.Context, dsn string, cfg PoolConfig) (*sqlx.DB, error) {
	db, err := NewPool(dsn, cfg)
	if err != nil {
		return nil, err
	}
	if err := Ping(ctx, db, cfg); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	return db, nil
}

// NewPool returns a connection pool to dsn without connecting: the first
// query (or Ping) does. Use it where connecting belongs to a later step,
// such as an fx start hook.
func NewPool(dsn string, cfg PoolConfig) (*sqlx.DB, error) {
	return newPool(dsn, cfg, func(d *Dialer) pq.Dialer { return d })
}

// newPool is NewPool whose connections dial through wrap(its Dialer).
func newPool(dsn string, cfg PoolConfig, wrap func(*Dialer) pq.Dialer) (*sqlx.DB, error) {
	cfg = cfg.withDefaults()
	pqCfg, err := pq.NewConfig(dsn)
	if err != nil {
		// net/url's error quotes the whole DSN, password included; its
		// inner error says what is wrong without it.
		if urlErr, ok := errors.AsType[*url.Error](err); ok {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("open database: malformed DSN: %w", err)
	}
	dial := cfg.Dial.withDefaults()
	if pqCfg.ConnectTimeout <= 0 {
		// lib/pq bounds the startup handshake only with connect_timeout:
		// without it a server that accepted the connection and then
		// stopped answering holds the dial, and the pool slot, forever.
		pqCfg.ConnectTimeout = dial.ConnectTimeout
	}
	if !strings.Contains(dsn, "binary_parameters") {
		// A statement with parameters is then one round trip (Parse, Bind
		// and Execute sent together) instead of two (Parse and Describe
		// first). Only []byte arguments change form (sent as binary), and
		// the repositories bind none.
		pqCfg.BinaryParameters = true
	}
	connector, err := pq.NewConnectorConfig(pqCfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	connector.Dialer(wrap(NewDialer(dial)))
	db := sqlx.NewDb(sql.OpenDB(connector), "postgres")
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxIdleConns)
	db.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	db.SetConnMaxIdleTime(cfg.ConnMaxIdleTime)
	return db, nil
}

// Ping checks that db answers within cfg's ConnectTimeout when ctx has no
// deadline of its own.
func Ping(ctx context.Context, db *sqlx.DB, cfg PoolConfig) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.withDefaults().ConnectTimeout)
		defer cancel()
	}
	return sqlstore.Ping(ctx, db)
}

package postgres

import (
	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/adapters/sqlstore"
)

// ConversationRepository is the shared repository of conversations
// (adapters/sqlstore), here on PostgreSQL.
type ConversationRepository = sqlstore.ConversationRepository

// MessageRepository is the shared repository of messages
// (adapters/sqlstore), here on PostgreSQL.
type MessageRepository = sqlstore.MessageRepository

// MessageOption configures a MessageRepository (sqlstore.WithAfterAppend).
type MessageOption = sqlstore.MessageOption

// HealthChecker reports whether the database answers, for the readiness
// probe.
type HealthChecker = sqlstore.HealthChecker

// NewConversationRepository returns a ConversationRepository on db, a pool
// from Open or NewPool.
func NewConversationRepository(db *sqlx.DB) *ConversationRepository {
	return sqlstore.NewConversationRepository(db, Dialect)
}

// NewMessageRepository returns a MessageRepository on db, a pool from Open
// or NewPool, configured by opts (sqlstore.WithAfterAppend).
func NewMessageRepository(db *sqlx.DB, opts ...MessageOption) *MessageRepository {
	return sqlstore.NewMessageRepository(db, Dialect, opts...)
}

// NewHealthChecker returns a HealthChecker of db.
func NewHealthChecker(db *sqlx.DB) *HealthChecker { return sqlstore.NewHealthChecker(db) }

package sqlite_test

import (
	"testing"

	"github.com/relaymsg/relay/adapters/sqlite"
	"github.com/relaymsg/relay/adapters/sqlstore/sqlstoretest"
)

// BenchmarkAppend: Append next to a bare INSERT of the same rows
// (sqlstoretest.BenchAppend).
func BenchmarkAppend(b *testing.B) {
	db := newDatabase(b)
	sqlstoretest.BenchAppend(b, db, sqlite.NewConversationRepository(db), sqlite.NewMessageRepository(db))
}

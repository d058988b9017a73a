package sqlite_test

import (
	"testing"

	"github.com/relaymsg/relay/adapters/sqlite"
	"github.com/relaymsg/relay/adapters/sqlstore/sqlstoretest"
)

// TestAppendBatch: the batch's statements, one outcome per request.
func TestAppendBatch(t *testing.T) {
	t.Parallel()
	db := newDatabase(t)
	sqlstoretest.CheckAppendBatch(t, sqlite.NewConversationRepository(db), sqlite.NewMessageRepository(db))
}

package sqlite

import (
	"encoding/json"
	"errors"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/relaymsg/relay/adapters/sqlstore"
	"github.com/relaymsg/relay/domain"
)

// Dialect is SQLite's SQL for the shared repositories (adapters/sqlstore):
// members aggregated with json_group_array, lists of ids bound as one JSON
// array text and read with json_each, and the driver's result codes
// classified.
var Dialect = sqlstore.Dialect{
	MemberIDs: `(SELECT json_group_array(m.user_id ORDER BY m.user_id)
	             FROM conversation_members m WHERE m.conversation_id = c.id)`,
	IDIn:   `IN (SELECT value FROM json_each(?))`,
	IDRows: `json_each(?)`,
	IDList: idList,
	// One writer at a time: the clock (migrations/sqlite/0005) holds the
	// newest key committed, moved by a trigger on last_x in the same UPDATE.
	NextKey:   `(SELECT k.last_x FROM message_clock k WHERE k.id = 1) + 1`,
	Watermark: `SELECT last_x + 1 FROM message_clock WHERE id = 1`,
	Classify:  classify,
}

// idList is ids as the text of a JSON array.
func idList(ids []string) any {
	if ids == nil {
		ids = []string{}
	}
	b, _ := json.Marshal(ids) // a []string always encodes
	return string(b)
}

// classify returns the domain sentinel that err, from modernc.org/sqlite,
// stands for, or nil.
func classify(err error) error {
	var serr *sqlite.Error
	if !errors.As(err, &serr) {
		return nil
	}
	code := serr.Code()
	switch code & 0xff { // the primary result code of an extended one
	case sqlite3.SQLITE_CONSTRAINT:
		return constraint(code, serr.Error())
	case sqlite3.SQLITE_BUSY, // the busy timeout passed: another writer holds the lock
		sqlite3.SQLITE_LOCKED,    // a conflict inside this process's shared cache
		sqlite3.SQLITE_INTERRUPT, // a context ended mid-statement
		sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_FULL,
		sqlite3.SQLITE_NOMEM,
		sqlite3.SQLITE_CANTOPEN, // the file or its directory is missing or unreadable
		sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_PROTOCOL:
		return domain.ErrUnavailable
	case sqlite3.SQLITE_TOOBIG, // a string or blob over the length limit
		sqlite3.SQLITE_MISMATCH: // a value of the wrong type for its column
		// A value the database cannot take: the client's input, never a 5xx.
		return domain.ErrInvalid
	}
	return nil
}

// constraint classifies a constraint violation by its extended code or,
// when the driver reports only the primary one, by SQLite's message.
func constraint(code int, msg string) error {
	switch {
	case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE, code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
		strings.Contains(msg, "UNIQUE constraint failed"):
		return domain.ErrConflict
	case code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY, strings.Contains(msg, "FOREIGN KEY constraint failed"):
		return domain.ErrNotFound
	}
	return nil
}

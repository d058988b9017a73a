package sqlstore

// Dialect is what differs between the databases the repositories run on.
// Everything else (the statements, the transactions, the rows) is shared.
// The bind style is not here: it follows the pool's driver name
// (sqlx.BindType), and statements are rebound to it.
type Dialect struct {
	// MemberIDs is an SQL expression over the conversation aliased c: its
	// member ids, sorted, as the text of a JSON array ("[]" for none).
	MemberIDs string
	// IDIn follows a column in a WHERE clause and holds when the column is
	// one of the ids bound, as IDList's value, to its one placeholder.
	IDIn string
	// IDRows is a FROM item with one row per id bound, as IDList's value,
	// to its one placeholder; the id is in its column value.
	IDRows string
	// IDList returns the argument that binds ids to IDIn's or IDRows'
	// placeholder.
	IDList func(ids []string) any
	// NextKey is an SQL expression, in the UPDATE of the conversation row
	// that advances last_seq, for the commit key of the message appended:
	// above the row's last_x, and above every key a transaction that
	// commits before it was given, as StableWatermark needs.
	NextKey string
	// AppendBatch, when set, stores a batch of appends in one statement
	// (see AppendBatchFunc); without it, MessageRepository runs the batch
	// a statement at a time in a transaction.
	AppendBatch AppendBatchFunc
	// Watermark is a query whose one row and column is the stable
	// watermark of commit keys (ports.MessageRepository.StableWatermark).
	Watermark string
	// Classify returns the domain sentinel (domain.ErrConflict,
	// domain.ErrNotFound, domain.ErrUnavailable, domain.ErrInvalid for a
	// value the database cannot take) that a driver error stands for, or
	// nil. What every driver shares (sql.ErrNoRows, a done context,
	// a closed pool) is classified before it is asked.
	Classify func(err error) error
}

package domain

import (
	"encoding/base64"
	"encoding/binary"
)

// inboxCursorVersion is the first byte of an encoded inbox cursor: apart
// from a channel stream's (cursorVersion) and a conversation page's, so
// that neither is taken for the other.
const inboxCursorVersion = 'i'

// MaxInboxCursorLength is the longest text form of an inbox cursor, as
// API.md promises: at most 2048 bytes however many conversations the
// caller has.
const MaxInboxCursorLength = 2048

// MaxInboxExceptions bounds the conversations an inbox cursor names one by
// one. Each costs at most about 14 characters of text for numbers and
// seqs below 2^35, so 128 of them and the header stay well under
// MaxInboxCursorLength.
const MaxInboxExceptions = 128

// InboxCursor is how far a user's inbox stream has read, in a size that
// does not grow with the user's conversations:
//
//   - UserSeq: every change of the user's log (UserLog: joins, departures,
//     read moves) with a useq up to it was delivered, none after.
//   - Watermark: for each conversation Except does not name, the messages
//     delivered are exactly those whose commit key is below it (the store
//     keeps a key per message, increasing with seq in its conversation, and
//     a stable watermark W such that every message keyed below W is
//     committed). So a conversation's position is its prefix at the
//     watermark, which the store can tell (PrefixAt).
//   - Except: the conversations whose delivered prefix differs from that,
//     with their positions. A stream keeps it short by moving the
//     watermark on (its messages are usually all below a fresh one).
type InboxCursor struct {
	UserSeq   int64
	Watermark int64
	Except    Cursor
}

// String encodes the cursor: the version byte, UserSeq and Watermark as
// unsigned varints, then Except's (number delta, seq) pairs, in base64url
// without padding — no CR, LF, NUL or ':'.
func (c InboxCursor) String() string {
	var raw [128]byte // most cursors fit: no allocation but the string
	buf := append(rawBuffer(raw[:0], len(c.Except.positions)+2), inboxCursorVersion)
	buf = binary.AppendUvarint(buf, uint64(c.UserSeq))
	buf = binary.AppendUvarint(buf, uint64(c.Watermark))
	return encodeText(appendPositions(buf, c.Except.positions))
}

var errBadInboxCursor = Invalid("lastEventId", "is not an inbox cursor issued by this service")

// ParseInboxCursor decodes what InboxCursor.String produced; anything
// else, a channel stream's cursor included, is an ErrInvalid.
func ParseInboxCursor(s string) (InboxCursor, error) {
	if s == "" || len(s) > MaxInboxCursorLength {
		return InboxCursor{}, errBadInboxCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) == 0 || raw[0] != inboxCursorVersion {
		return InboxCursor{}, errBadInboxCursor
	}
	raw = raw[1:]
	useq, err := readUvarint(&raw)
	if err != nil {
		return InboxCursor{}, errBadInboxCursor
	}
	w, err := readUvarint(&raw)
	if err != nil {
		return InboxCursor{}, errBadInboxCursor
	}
	positions, ok := readPositions(raw)
	if !ok {
		return InboxCursor{}, errBadInboxCursor
	}
	c := InboxCursor{UserSeq: int64(useq), Watermark: int64(w), Except: Cursor{positions: positions}}
	// One text form per cursor, as for channel cursors.
	if c.String() != s {
		return InboxCursor{}, errBadInboxCursor
	}
	return c, nil
}

// KeyedMessage is a message with its commit key, the order in which a
// stable watermark passes messages of different conversations.
type KeyedMessage struct {
	Message Message
	Key     int64
}

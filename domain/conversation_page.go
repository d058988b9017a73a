package domain

import (
	"encoding/base64"
	"encoding/binary"
	"time"
)

// Page limits of a member's list of conversations.
const (
	DefaultConversationPageSize = 100
	MaxConversationPageSize     = 500
)

// conversationCursorVersion is the first byte of an encoded
// ConversationCursor; a future format gets a new version. It differs from
// the stream cursors' (cursorVersion), so that neither kind of cursor is
// ever taken for the other.
const conversationCursorVersion = 'c'

// maxConversationCursorLength bounds the text that
// ParseConversationCursor reads: a version byte and two varints of at
// most 10 bytes each, in base64.
const maxConversationCursorLength = 32

// ConversationCursor is a position in the newest-first order of
// conversations, (CreatedAt, Number) descending: that of the last
// conversation of a page. The next page holds the conversations strictly
// after it in that order. Conversations are never renumbered nor
// re-dated, and a new one sorts before every existing one, so a position
// means the same place however many conversations are created meanwhile.
type ConversationCursor struct {
	CreatedAt time.Time // to the microsecond, as stored
	Number    int64
}

// ConversationCursorOf returns the position of c, from which the page that
// follows c is asked.
func ConversationCursorOf(c Conversation) ConversationCursor {
	return ConversationCursor{CreatedAt: c.CreatedAt, Number: c.Number}
}

// IsZero reports whether c is no position: the start of the list.
func (c ConversationCursor) IsZero() bool { return c.Number == 0 && c.CreatedAt.IsZero() }

// Before reports whether conversation x comes after the position c in the
// newest-first order, that is whether it belongs to the page after c. The
// zero cursor is before every conversation.
func (c ConversationCursor) Before(x Conversation) bool {
	if c.IsZero() {
		return true
	}
	if !x.CreatedAt.Equal(c.CreatedAt) {
		return x.CreatedAt.Before(c.CreatedAt)
	}
	return x.Number < c.Number
}

// String encodes the cursor: a version byte and the creation time (Unix
// microseconds) and number as unsigned varints, in base64url without
// padding, so it goes into a URL's query as it is.
func (c ConversationCursor) String() string {
	buf := make([]byte, 0, 1+2*binary.MaxVarintLen64)
	buf = append(buf, conversationCursorVersion)
	buf = binary.AppendUvarint(buf, uint64(c.CreatedAt.UnixMicro()))
	buf = binary.AppendUvarint(buf, uint64(c.Number))
	return base64.RawURLEncoding.EncodeToString(buf)
}

var errBadConversationCursor = Invalid("after", "is not a cursor issued by this service")

// ParseConversationCursor decodes a cursor that String produced. Anything
// else, another version included, is an ErrInvalid.
func ParseConversationCursor(s string) (ConversationCursor, error) {
	if s == "" || len(s) > maxConversationCursorLength {
		return ConversationCursor{}, errBadConversationCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) == 0 || raw[0] != conversationCursorVersion {
		return ConversationCursor{}, errBadConversationCursor
	}
	raw = raw[1:]
	micros, err := readUvarint(&raw)
	if err != nil {
		return ConversationCursor{}, errBadConversationCursor
	}
	number, err := readUvarint(&raw)
	if err != nil || len(raw) != 0 || number == 0 {
		return ConversationCursor{}, errBadConversationCursor
	}
	c := ConversationCursor{CreatedAt: time.UnixMicro(int64(micros)).UTC(), Number: int64(number)}
	// As for stream cursors: one text form per cursor.
	if c.String() != s {
		return ConversationCursor{}, errBadConversationCursor
	}
	return c, nil
}

// ConversationPageQuery asks for one page of the conversations Member
// belongs to, newest first: the first Limit after the position After (the
// zero cursor: from the newest).
type ConversationPageQuery struct {
	Member UserID
	After  ConversationCursor
	Limit  int
}

// ConversationPage is one page of a member's conversations, newest first.
// Next is the position to ask the following page from; it is zero on the
// last page.
type ConversationPage struct {
	Conversations []Conversation
	Next          ConversationCursor
}

// HasNext reports whether more conversations follow this page.
func (p ConversationPage) HasNext() bool { return !p.Next.IsZero() }

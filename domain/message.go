package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of messages.
const (
	MaxContentLength         = 4000 // Unicode characters, after trimming
	MaxClientMessageIDLength = 64   // Unicode characters
	MaxPersonaIDLength       = 128  // Unicode characters
)

// Message is one stored chat message. Seq is its position in its channel:
// 1, 2, 3, … with no gaps, in commit order.
type Message struct {
	ID              string
	Channel         ChannelID
	Seq             int64
	SenderID        UserID
	PersonaID       string // empty when absent
	Content         string
	ClientMessageID string // empty when absent
	CreatedAt       time.Time
}

// NewMessage validates the parts of a message its sender chooses and returns
// it without id, seq or time, which the use case and the store assign.
// Content is stored trimmed of leading and trailing white space.
func NewMessage(channel ChannelID, sender UserID, content, personaID, clientMessageID string) (Message, error) {
	content = strings.TrimSpace(content)
	if !utf8.ValidString(content) {
		return Message{}, Invalid("content", "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(content); n == 0 || n > MaxContentLength {
		return Message{}, Invalid("content", "must be 1 to 4000 characters after trimming")
	}
	if hasControl(content) {
		return Message{}, Invalid("content", "must not hold control characters other than tab, LF and CR")
	}
	if !printable(clientMessageID) || utf8.RuneCountInString(clientMessageID) > MaxClientMessageIDLength {
		return Message{}, Invalid("clientMessageId", "must be at most 64 printable characters")
	}
	if !printable(personaID) || utf8.RuneCountInString(personaID) > MaxPersonaIDLength {
		return Message{}, Invalid("personaId", "must be at most 128 printable characters")
	}
	return Message{
		Channel:         channel,
		SenderID:        sender,
		PersonaID:       personaID,
		Content:         content,
		ClientMessageID: clientMessageID,
	}, nil
}

// SameRequest reports whether m, an existing message found by its client
// message id, answers a retry of the request that produced other: the same
// channel and the same content. A client message id reused for a different
// message is a conflict, not a retry.
func (m Message) SameRequest(other Message) bool {
	return m.Channel == other.Channel && m.Content == other.Content && m.PersonaID == other.PersonaID
}

// hasControl reports whether s holds a C0 control character (U+0000 to
// U+001F, NUL included) other than tab, LF and CR: content is chat text,
// and PostgreSQL cannot store NUL in text at all.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' && c != '\n' && c != '\r' {
			return true
		}
	}
	return false
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// Page limits of message history.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// PageAnchor tells where a page of history is anchored.
type PageAnchor int

// The anchors of a page of history.
const (
	// PageLatest selects the latest Limit messages.
	PageLatest PageAnchor = iota
	// PageAfter selects the first Limit messages with seq > Seq; Seq 0 is
	// the start of the channel.
	PageAfter
	// PageBefore selects the Limit messages just before seq Seq.
	PageBefore
)

// HistoryQuery selects a page of a channel's history. Pages are always
// returned oldest first. The anchor is explicit because seq 0 is a real
// position ("after 0" is the first page), not an absent one.
//
// A HistoryQuery is valid as NewHistoryQuery or HistoryAfter makes it: a
// known anchor, a non-negative seq and a limit of at least 1. Those are
// the one place its rules are checked; the use cases and stores trust it.
type HistoryQuery struct {
	Channel ChannelID
	Anchor  PageAnchor
	Seq     int64 // the anchor's seq, for PageAfter and PageBefore
	Limit   int
}

// HistoryPage is a page of history as a client asks for it, each field
// nil when the client left it out.
type HistoryPage struct {
	Limit  *int64 // DefaultPageSize when nil, else 1 to MaxPageSize
	After  *int64 // the page after this seq (0: the first page)
	Before *int64 // the page before this seq; at most one of After and Before
}

// NewHistoryQuery validates page and returns the query of channel's
// history it asks for: the latest messages when it names no anchor. A
// broken rule is a ValidationError naming the parameter, in the order
// limit, after, before.
func NewHistoryQuery(channel ChannelID, page HistoryPage) (HistoryQuery, error) {
	q := HistoryQuery{Channel: channel, Anchor: PageLatest, Limit: DefaultPageSize}
	if page.Limit != nil {
		if *page.Limit < 1 || *page.Limit > MaxPageSize {
			return HistoryQuery{}, InvalidHistoryLimit()
		}
		q.Limit = int(*page.Limit)
	}
	for _, p := range []struct {
		name string
		seq  *int64
	}{{"after", page.After}, {"before", page.Before}} {
		if p.seq != nil && *p.seq < 0 {
			return HistoryQuery{}, Invalid(p.name, "must be a non-negative integer")
		}
	}
	switch {
	case page.After != nil && page.Before != nil:
		return HistoryQuery{}, Invalid("after, before", "give at most one")
	case page.After != nil:
		q.Anchor, q.Seq = PageAfter, *page.After
	case page.Before != nil:
		q.Anchor, q.Seq = PageBefore, *page.Before
	}
	return q, nil
}

// InvalidHistoryLimit is the ValidationError of a page limit that is not
// an integer from 1 to MaxPageSize, whether out of range or not a number
// at all.
func InvalidHistoryLimit() error {
	return Invalid("limit", fmt.Sprintf("must be an integer from 1 to %d", MaxPageSize))
}

// HistoryAfter selects the first limit messages of channel after seq.
func HistoryAfter(channel ChannelID, seq int64, limit int) HistoryQuery {
	return HistoryQuery{Channel: channel, Anchor: PageAfter, Seq: seq, Limit: limit}
}

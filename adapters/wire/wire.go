package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/relaymsg/relay/domain"
)

// Version is the envelope version this package writes and reads.
const Version = 1

// Errors of Encode and Decode, to be tested with errors.Is.
var (
	// ErrMalformed: the bytes are not an envelope, or an event cannot be
	// encoded as one.
	ErrMalformed = errors.New("malformed envelope")
	// ErrUnsupportedVersion: the envelope was written by a newer (or
	// unknown) version. Decode still returns what it could read.
	ErrUnsupportedVersion = errors.New("unsupported envelope version")
	// ErrTooLarge: even the partial form of an event exceeds the limit
	// given to EncodeLimited.
	ErrTooLarge = errors.New("envelope too large")
)

// The kind codes of version 1. Letters rather than the numbers of
// domain.EventKind, so that reordering that enum cannot change the wire.
//
// The user-log kinds (j, l, rd) came later within version 1: a reader
// that predates them rejects their envelopes as malformed, which is safe
// (see the package doc).
const (
	kindMessage       = "m"
	kindMemberRemoved = "r"
	kindResync        = "s"
	kindMemberJoined  = "j"
	kindMemberLeft    = "l"
	kindReadMoved     = "rd"
)

// Envelope is a decoded envelope.
type Envelope struct {
	// Version is the envelope's version.
	Version int
	// Origin identifies the instance that published the event.
	Origin string
	// Event is the event. For a Partial message only Kind, Channel,
	// Message.Channel and Message.Seq are set.
	Event domain.Event
	// Partial reports a message cut down to its channel and seq. A receiver
	// turns it into a resync of the channel: the streams read the message
	// from the store.
	Partial bool
	// Sent is when the publisher first sent the event, just after the
	// message's commit (or just before it, for a NOTIFY in the commit's
	// transaction); zero if the envelope does not say.
	Sent time.Time
}

// envelope is the JSON form. Every field but v, k and c is omitted when
// empty, which keeps the common envelope small.
type envelope struct {
	V        int    `json:"v"`
	Origin   string `json:"o,omitempty"`
	Kind     string `json:"k"`
	Channel  string `json:"c"`
	Partial  bool   `json:"partial,omitempty"`
	ID       string `json:"id,omitempty"`
	Seq      int64  `json:"s,omitempty"`
	User     string `json:"u,omitempty"` // a message's sender, or the member removed
	Persona  string `json:"p,omitempty"`
	Body     string `json:"b,omitempty"`
	ClientID string `json:"cm,omitempty"`
	At       string `json:"t,omitempty"`
	Sent     int64  `json:"st,omitempty"` // Unix microseconds
	// The user-log kinds' conversation channel, user seq and read seq.
	Conversation string `json:"cv,omitempty"`
	UserSeq      int64  `json:"us,omitempty"`
	ReadSeq      int64  `json:"rs,omitempty"`
}

// Encode returns the envelope of ev published by origin. It fails, with
// ErrMalformed, for an event a receiver could not decode: an unknown kind,
// an invalid channel, a message without id, seq, sender or time, or text
// that is not valid UTF-8 (which JSON would silently alter).
func Encode(ev domain.Event, origin string) ([]byte, error) {
	env, err := fromEvent(ev, origin)
	if err != nil {
		return nil, err
	}
	return marshal(env)
}

// EncodeLimited is Encode for a transport that carries at most maxBytes
// (PostgreSQL NOTIFY: under 8000 bytes), stamped with sent, when the event
// was first sent (zero: no stamp), from which receivers measure their lag.
// A message whose envelope is larger is sent partial: its channel and seq
// only. Any other event that does not fit, or a partial message that still
// does not, fails with ErrTooLarge. maxBytes of zero or less means no
// limit.
func EncodeLimited(ev domain.Event, origin string, maxBytes int, sent time.Time) ([]byte, error) {
	env, err := fromEvent(ev, origin)
	if err != nil {
		return nil, err
	}
	if !sent.IsZero() {
		env.Sent = sent.UnixMicro()
	}
	b, err := marshal(env)
	if err != nil || maxBytes <= 0 || len(b) <= maxBytes {
		return b, err
	}
	if env.Kind == kindMessage {
		env = envelope{V: Version, Origin: origin, Kind: kindMessage, Channel: env.Channel, Seq: env.Seq, Partial: true}
		if b, err = marshal(env); err != nil || len(b) <= maxBytes {
			return b, err
		}
	}
	return nil, fmt.Errorf("encode %s event of %s: %d bytes, limit %d: %w", env.Kind, env.Channel, len(b), maxBytes, ErrTooLarge)
}

func fromEvent(ev domain.Event, origin string) (envelope, error) {
	env := envelope{V: Version, Origin: origin, Channel: ev.Channel.String()}
	if _, err := domain.ParseChannelID(env.Channel); err != nil {
		return envelope{}, fmt.Errorf("encode: channel %q: %w", env.Channel, ErrMalformed)
	}
	switch ev.Kind {
	case domain.EventMessage:
		m := ev.Message
		if m.Channel != ev.Channel {
			return envelope{}, fmt.Errorf("encode: message of %s in an event of %s: %w", m.Channel, ev.Channel, ErrMalformed)
		}
		env.Kind = kindMessage
		env.ID, env.Seq, env.User = m.ID, m.Seq, string(m.SenderID)
		env.Persona, env.Body, env.ClientID = m.PersonaID, m.Content, m.ClientMessageID
		if !m.CreatedAt.IsZero() {
			env.At = m.CreatedAt.UTC().Format(time.RFC3339Nano)
		}
	case domain.EventMemberRemoved:
		env.Kind, env.User = kindMemberRemoved, string(ev.UserID)
	case domain.EventResync:
		env.Kind = kindResync
	case domain.EventMemberJoined, domain.EventMemberLeft, domain.EventReadMoved:
		env.Kind = userLogKinds[ev.Kind]
		env.Conversation, env.UserSeq, env.ReadSeq = ev.Conversation.String(), ev.UserSeq, ev.ReadSeq
	default:
		return envelope{}, fmt.Errorf("encode: event kind %d: %w", ev.Kind, ErrMalformed)
	}
	if err := env.validate(); err != nil {
		return envelope{}, fmt.Errorf("encode: %w", err)
	}
	return env, nil
}

func marshal(env envelope) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// "<", ">" and "&" are common in chat and cost six bytes each escaped;
	// no receiver embeds an envelope in HTML.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Decode parses an envelope. It fails with ErrMalformed for bytes that are
// not a valid version 1 envelope and with ErrUnsupportedVersion for another
// version. On either error the returned Envelope still holds the Version,
// Origin and Event.Channel it could read (a zero Channel if it could not),
// so that the receiver can resync that channel instead of losing track of
// it.
func Decode(b []byte) (Envelope, error) {
	var env envelope
	jsonErr := json.Unmarshal(b, &env)
	out := Envelope{Version: env.V, Origin: env.Origin}
	if ch, err := domain.ParseChannelID(env.Channel); err == nil {
		out.Event.Channel = ch
	}
	switch {
	case env.V != Version && env.V != 0:
		// Checked before the JSON error: a newer version may well give a
		// known key another type.
		return out, fmt.Errorf("decode: version %d: %w", env.V, ErrUnsupportedVersion)
	case jsonErr != nil:
		return out, fmt.Errorf("decode: %w: %w", ErrMalformed, jsonErr)
	case env.V == 0:
		return out, fmt.Errorf("decode: no version: %w", ErrMalformed)
	}
	if err := env.validate(); err != nil {
		return out, fmt.Errorf("decode: %w", err)
	}
	out.Partial = env.Partial
	if env.Sent > 0 {
		out.Sent = time.UnixMicro(env.Sent).UTC()
	}
	switch env.Kind {
	case kindMessage:
		out.Event = domain.Event{Kind: domain.EventMessage, Channel: out.Event.Channel}
		out.Event.Message = domain.Message{
			ID: env.ID, Channel: out.Event.Channel, Seq: env.Seq, SenderID: domain.UserID(env.User),
			PersonaID: env.Persona, Content: env.Body, ClientMessageID: env.ClientID,
		}
		if env.At != "" {
			// validate parsed it already.
			out.Event.Message.CreatedAt, _ = time.Parse(time.RFC3339Nano, env.At)
		}
	case kindMemberRemoved:
		out.Event = domain.MemberRemovedEvent(out.Event.Channel, domain.UserID(env.User))
	case kindResync:
		out.Event.Kind = domain.EventResync
	case kindMemberJoined, kindMemberLeft, kindReadMoved:
		// validate parsed the conversation already.
		conv, _ := domain.ParseConversationChannel(env.Conversation)
		for kind, code := range userLogKinds {
			if code == env.Kind {
				out.Event.Kind = kind
			}
		}
		out.Event.Conversation, out.Event.UserSeq, out.Event.ReadSeq = conv, env.UserSeq, env.ReadSeq
	}
	return out, nil
}

// userLogKinds are the codes of the user-log events.
var userLogKinds = map[domain.EventKind]string{
	domain.EventMemberJoined: kindMemberJoined,
	domain.EventMemberLeft:   kindMemberLeft,
	domain.EventReadMoved:    kindReadMoved,
}

// validate checks what both Encode and Decode require, so that whatever
// Encode accepts Decode accepts too.
func (env *envelope) validate() error {
	ch, err := domain.ParseChannelID(env.Channel)
	if err != nil {
		return fmt.Errorf("channel %q: %w", env.Channel, ErrMalformed)
	}
	// A user channel carries the user-log kinds and resyncs; a
	// conversation's channel everything else.
	_, onUser := ch.User()
	userLog := env.Kind == kindMemberJoined || env.Kind == kindMemberLeft || env.Kind == kindReadMoved
	if onUser != userLog && env.Kind != kindResync {
		return fmt.Errorf("%q event on channel %q: %w", env.Kind, env.Channel, ErrMalformed)
	}
	if env.Partial && env.Kind != kindMessage {
		return fmt.Errorf("partial %q event: %w", env.Kind, ErrMalformed)
	}
	switch env.Kind {
	case kindMessage:
		if env.Seq < 1 {
			return fmt.Errorf("message seq %d: %w", env.Seq, ErrMalformed)
		}
		if env.Partial {
			return nil
		}
		if env.ID == "" || env.User == "" || env.At == "" {
			return fmt.Errorf("message without id, sender or time: %w", ErrMalformed)
		}
		if _, err := time.Parse(time.RFC3339Nano, env.At); err != nil {
			return fmt.Errorf("message time %q: %w", env.At, ErrMalformed)
		}
	case kindMemberRemoved:
		if env.User == "" {
			return fmt.Errorf("member removal without user: %w", ErrMalformed)
		}
	case kindResync:
	case kindMemberJoined, kindMemberLeft, kindReadMoved:
		if _, err := domain.ParseConversationChannel(env.Conversation); err != nil {
			return fmt.Errorf("%q event of conversation %q: %w", env.Kind, env.Conversation, ErrMalformed)
		}
		if env.UserSeq < 1 || env.ReadSeq < 0 || (env.ReadSeq != 0 && env.Kind != kindReadMoved) {
			return fmt.Errorf("%q event: user seq %d, read seq %d: %w", env.Kind, env.UserSeq, env.ReadSeq, ErrMalformed)
		}
	default:
		return fmt.Errorf("kind %q: %w", env.Kind, ErrMalformed)
	}
	for _, s := range []string{env.Origin, env.ID, env.User, env.Persona, env.Body, env.ClientID} {
		if !utf8.ValidString(s) {
			return fmt.Errorf("text is not valid UTF-8: %w", ErrMalformed)
		}
	}
	return nil
}

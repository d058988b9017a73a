package domain

import (
	"fmt"
	"strings"
)

// ConversationKind tells a direct message from a group.
type ConversationKind string

// The two kinds of conversation.
const (
	KindDM    ConversationKind = "dm"
	KindGroup ConversationKind = "group"
)

// Valid reports whether k is one of the known kinds of conversation.
// ChannelUser is not one: it names a user's channel, not a conversation.
func (k ConversationKind) Valid() bool { return k == KindDM || k == KindGroup }

// ChannelUser is the Kind of a user's own channel (UserChannel), which
// carries the doorbells of the user's log: membership changes and read
// positions, over every conversation of the user. It is a ChannelID kind
// only, never a conversation's kind.
const ChannelUser ConversationKind = "user"

// IDPrefix is the prefix of the generated ids of conversations of kind k.
func (k ConversationKind) IDPrefix() string {
	if k == KindGroup {
		return "grp"
	}
	return "dm"
}

// ConversationID identifies a conversation ("dm_…" or "grp_…").
type ConversationID string

// ChannelID names a notifier channel: a conversation's stream, "dm:<id>"
// or "group:<id>", or a user's channel, "user:<user id>" (UserChannel). It
// is comparable and used as a map key.
type ChannelID struct {
	Kind ConversationKind
	// ID is the conversation's id, or for a ChannelUser channel the user's
	// id (see User), which may contain ':' and other characters that a
	// conversation id may not.
	ID ConversationID
}

// DMChannel returns the channel of a direct message.
func DMChannel(id ConversationID) ChannelID { return ChannelID{Kind: KindDM, ID: id} }

// GroupChannel returns the channel of a group.
func GroupChannel(id ConversationID) ChannelID { return ChannelID{Kind: KindGroup, ID: id} }

// UserChannel returns the channel of user's log, "user:<user id>".
func UserChannel(user UserID) ChannelID {
	return ChannelID{Kind: ChannelUser, ID: ConversationID(user)}
}

// User returns the user whose channel c is, and false when c is a
// conversation's channel.
func (c ChannelID) User() (UserID, bool) {
	if c.Kind != ChannelUser {
		return "", false
	}
	return UserID(c.ID), true
}

// IsConversation reports whether c is a conversation's channel (dm or
// group), the only kind a client may name in a stream's query.
func (c ChannelID) IsConversation() bool { return c.Kind.Valid() }

// ChannelOf returns the channel of the conversation id, whose prefix
// ("dm_" or "grp_", ConversationKind.IDPrefix) tells its kind; false when
// id has neither, so names no conversation this service made.
func ChannelOf(id ConversationID) (ChannelID, bool) {
	for _, k := range []ConversationKind{KindDM, KindGroup} {
		if strings.HasPrefix(string(id), k.IDPrefix()+"_") && len(id) > len(k.IDPrefix())+1 {
			return ChannelID{Kind: k, ID: id}, true
		}
	}
	return ChannelID{}, false
}

// String returns the wire form, "dm:dm_…", "group:grp_…" or "user:…".
func (c ChannelID) String() string { return string(c.Kind) + ":" + string(c.ID) }

// ParseChannelID parses the wire form of a channel id of any kind, user
// channels included: it is String's inverse, for the notifiers' wire.
// Input from clients, which may name conversations only, goes through
// ParseConversationChannel. The kind ends at the first ':', so a user id
// with ':' in it ("user:a:b") round-trips.
func ParseChannelID(s string) (ChannelID, error) {
	kind, id, ok := strings.Cut(s, ":")
	if ok && ConversationKind(kind) == ChannelUser {
		if err := ValidateUserID("channel", UserID(id)); err != nil {
			return ChannelID{}, Invalid("channel", fmt.Sprintf("%q has a malformed user id", s))
		}
		return UserChannel(UserID(id)), nil
	}
	return ParseConversationChannel(s)
}

// ParseConversationChannel parses the wire form of a conversation's
// channel, "dm:<id>" or "group:<id>"; a user channel is invalid here.
func ParseConversationChannel(s string) (ChannelID, error) {
	kind, id, ok := strings.Cut(s, ":")
	if !ok || !ConversationKind(kind).Valid() {
		return ChannelID{}, Invalid("channel", fmt.Sprintf("%q is not of the form dm:<id> or group:<id>", s))
	}
	if err := ValidateConversationID(ConversationID(id)); err != nil {
		return ChannelID{}, Invalid("channel", fmt.Sprintf("%q has a malformed id", s))
	}
	return ChannelID{Kind: ConversationKind(kind), ID: ConversationID(id)}, nil
}

// MaxIDLength bounds conversation and user ids.
const MaxIDLength = 128

// ValidateConversationID checks the shape of a conversation id: 1 to
// MaxIDLength printable ASCII characters other than space and ':'.
func ValidateConversationID(id ConversationID) error {
	if !isToken(string(id)) {
		return Invalid("id", "must be 1 to 128 printable ASCII characters without spaces or ':'")
	}
	return nil
}

func isToken(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of conversations. MaxGroupCreateMembers bounds the ids one
// request may name (a body's size); DefaultMaxGroupMembers is the default
// bound of a group's size, the caller included, which the deployment
// configures (MAX_GROUP_MEMBERS) and which applies to creation and to
// every addition alike.
const (
	MaxGroupNameLength     = 200
	MaxGroupCreateMembers  = 1000
	DefaultMaxGroupMembers = 5000
)

// UserID identifies a user; it is the `sub` claim of the caller's token.
type UserID string

// ValidateUserID checks the shape of a user id: 1 to MaxIDLength printable
// ASCII characters without spaces.
func ValidateUserID(field string, id UserID) error {
	s := string(id)
	if len(s) == 0 || len(s) > MaxIDLength {
		return Invalid(field, "must be 1 to 128 printable ASCII characters")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return Invalid(field, "must be 1 to 128 printable ASCII characters")
		}
	}
	return nil
}

// Conversation is a direct message between two users or a group.
type Conversation struct {
	ID   ConversationID
	Kind ConversationKind
	// Number is a compact internal key, unique per conversation, used in
	// resume cursors instead of the longer id.
	Number    int64
	Name      string // groups only
	MemberIDs []UserID
	CreatedAt time.Time
	// LastSeq is the seq of the newest message, 0 when there is none.
	LastSeq int64
	// ReadSeq and UnreadCount are one member's view of the conversation,
	// set only where a member asks for their own conversations
	// (ports.ConversationRepository.ListForMember) and zero elsewhere:
	// the seq of the last message the member has read (0 when none), and
	// how many messages after it others sent.
	ReadSeq     int64
	UnreadCount int64
}

// Channel returns the conversation's stream.
func (c Conversation) Channel() ChannelID { return ChannelID{Kind: c.Kind, ID: c.ID} }

// HasMember reports whether user belongs to the conversation.
func (c Conversation) HasMember(user UserID) bool { return slices.Contains(c.MemberIDs, user) }

// NewDirectMessage validates a direct message between exactly two distinct
// users, one of whom must be the caller, and returns it with its members in
// canonical (sorted) order so that either order names the same pair.
func NewDirectMessage(id ConversationID, caller UserID, members []UserID, now time.Time) (Conversation, error) {
	if len(members) != 2 {
		return Conversation{}, Invalid("memberIds", "a direct message has exactly two members")
	}
	for _, m := range members {
		if err := ValidateUserID("memberIds", m); err != nil {
			return Conversation{}, err
		}
	}
	if members[0] == members[1] {
		return Conversation{}, Invalid("memberIds", "the two members must be distinct")
	}
	if !slices.Contains(members, caller) {
		return Conversation{}, Invalid("memberIds", "the caller must be one of the two members")
	}
	sorted := slices.Clone(members)
	slices.Sort(sorted)
	return Conversation{ID: id, Kind: KindDM, MemberIDs: sorted, CreatedAt: now}, nil
}

// NewGroup validates a group; the caller is always a member. The name is
// trimmed, 1 to 200 characters of UTF-8 without NUL. Member ids are
// de-duplicated, keeping first-seen order with the caller first.
func NewGroup(id ConversationID, caller UserID, name string, members []UserID, now time.Time) (Conversation, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Conversation{}, Invalid("name", "is required")
	}
	if utf8.RuneCountInString(name) > MaxGroupNameLength || !utf8.ValidString(name) {
		return Conversation{}, Invalid("name", "must be at most 200 characters of valid UTF-8")
	}
	if strings.ContainsRune(name, 0) {
		return Conversation{}, Invalid("name", "must not hold NUL (U+0000)")
	}
	if len(members) > MaxGroupCreateMembers {
		return Conversation{}, Invalid("memberIds", "at most 1000 members may be named at creation")
	}
	all := make([]UserID, 0, len(members)+1)
	all = append(all, caller)
	for _, m := range members {
		if err := ValidateUserID("memberIds", m); err != nil {
			return Conversation{}, err
		}
		if !slices.Contains(all, m) {
			all = append(all, m)
		}
	}
	return Conversation{ID: id, Kind: KindGroup, Name: name, MemberIDs: all, CreatedAt: now}, nil
}

// ValidateGroupSize checks that group has at most maxMembers members, the
// caller included.
func ValidateGroupSize(group Conversation, maxMembers int) error {
	if len(group.MemberIDs) > maxMembers {
		return Invalid("memberIds", fmt.Sprintf("a group has at most %d members, the caller included", maxMembers))
	}
	return nil
}

// ChannelState is what a subscriber needs to know about one conversation
// when its stream starts: whether it may read it and where it ends now.
type ChannelState struct {
	Channel  ChannelID
	Number   int64
	LastSeq  int64
	IsMember bool
	// Removals counts the members ever removed from the conversation. It
	// only grows, so a stream that knows an older count knows it may have
	// missed a removal.
	Removals int64
	// LastKey is the commit key of the message at LastSeq (see
	// ports.MessageRepository.StableWatermark). Only Append's result
	// carries it; elsewhere it is zero.
	LastKey int64
}

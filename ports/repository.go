package ports

//go:generate go tool mockgen -destination=mocks/repository.go -package=mocks github.com/relaymsg/relay/ports ConversationRepository,MessageRepository

import (
	"context"

	"github.com/relaymsg/relay/domain"
)

// ConversationRepository stores conversations and their members.
// Implementations return domain.ErrNotFound for a missing conversation and
// domain.ErrUnavailable when the store cannot be reached.
type ConversationRepository interface {
	// CreateDirectMessage stores dm unless a direct message between the same
	// two members exists; then it returns that one and created=false. Two
	// concurrent calls for one pair create one conversation. When it
	// creates, useqs maps each of the two members to the useq its join
	// took (see UserLog); otherwise useqs is nil.
	CreateDirectMessage(ctx context.Context, dm domain.Conversation) (stored domain.Conversation, created bool, useqs map[domain.UserID]int64, err error)
	// CreateGroup stores a new group with its members and returns it with
	// its Number set, and useqs, which maps each member (every id of the
	// returned MemberIDs) to the useq its join took (see UserLog).
	CreateGroup(ctx context.Context, group domain.Conversation) (stored domain.Conversation, useqs map[domain.UserID]int64, err error)
	// Get returns one conversation with its members and last seq.
	Get(ctx context.Context, channel domain.ChannelID) (domain.Conversation, error)
	// IsMember reports whether user is a member of the conversation; false
	// (with no error) when the conversation does not exist.
	IsMember(ctx context.Context, channel domain.ChannelID, user domain.UserID) (bool, error)
	// ChannelStates returns, for each channel that exists, its number, last
	// seq and whether user is a member. Channels that do not exist are
	// absent from the result.
	ChannelStates(ctx context.Context, channels []domain.ChannelID, user domain.UserID) ([]domain.ChannelState, error)
	// MemberChannels returns the state (as ChannelStates, IsMember true)
	// of every conversation user is a member of, in one read, however
	// many: what an inbox stream watches.
	MemberChannels(ctx context.Context, user domain.UserID) ([]domain.ChannelState, error)
	// MemberViews returns user's view of each of channels that exists
	// and user is a member of, as ListForMember's items (members, last
	// seq, read position, unread count), in the order of channels; the
	// others are absent.
	MemberViews(ctx context.Context, channels []domain.ChannelID, user domain.UserID) ([]domain.Conversation, error)
	// ListForMember returns one page of the conversations q.Member belongs
	// to, most recently created first ((CreatedAt, Number) descending): the
	// first q.Limit (≥ 1) after q.After. The page's Next is the position of
	// its last conversation when more follow, zero otherwise. Conversations
	// created after the first page was read sort before it, so they never
	// shift or repeat the items of later pages. Each conversation carries
	// q.Member's view of it: ReadSeq, and UnreadCount, the messages after
	// ReadSeq that q.Member did not send, counted by the store without
	// loading them.
	ListForMember(ctx context.Context, q domain.ConversationPageQuery) (domain.ConversationPage, error)
	// AddMember adds user to a group of fewer than maxMembers (≥ 1) members;
	// adding a member twice is not an error, even to a full group. Adding
	// someone new to a group that has maxMembers members already is
	// domain.ErrGroupFull. The count and the insertion are one
	// transaction, serialised with other additions to the group, so that
	// concurrent additions never take it past maxMembers. It returns the
	// useq the addition took (see UserLog), 0 when user was a member
	// already.
	AddMember(ctx context.Context, group domain.ChannelID, user domain.UserID, maxMembers int) (useq int64, err error)
	// RemoveMember removes user from a group and reports whether it was a
	// member, with the useq the removal took (see UserLog), 0 when it
	// removed nothing.
	RemoveMember(ctx context.Context, group domain.ChannelID, user domain.UserID) (removed bool, useq int64, err error)
	// MarkRead raises user's read position in the conversation to seq,
	// clamped to the conversation's last seq, and returns the position it
	// now holds and whether this call moved it. A position never moves
	// backwards: a lower seq changes nothing (moved=false), and concurrent
	// calls end at the highest of them, because the clamp, the comparison
	// and the write are one statement or transaction. A conversation that
	// does not exist, or of which user is not a member, is
	// domain.ErrNotFound. seq is ≥ 0: a store does not check it again. A
	// move returns the useq it took (see UserLog); useq is 0 when
	// moved=false.
	MarkRead(ctx context.Context, channel domain.ChannelID, user domain.UserID, seq int64) (readSeq int64, moved bool, useq int64, err error)
	// UserLog returns the changes of user's memberships and read positions
	// after the useq after (≥ 0), with the user's head, in one consistent
	// read: every change up to the head and none after it (see
	// domain.UserLog). Each of CreateDirectMessage (both members, when it
	// creates), CreateGroup (every member), AddMember (the user, when
	// added), RemoveMember (the user, when removed) and MarkRead (when
	// moved) takes the next useq of each user it changes, in its
	// transaction: nothing else does, so useqs are gap-free. Each of them
	// returns the useqs it took, so that its caller can announce the
	// change with the very useq the log holds it at. A user without
	// changes has head 0 and an empty log.
	UserLog(ctx context.Context, user domain.UserID, after int64) (domain.UserLog, error)
	// UserHead returns user's useq of the newest change, 0 when none: the
	// Head of UserLog without the changes.
	UserHead(ctx context.Context, user domain.UserID) (int64, error)
}

// MessageRepository stores messages.
type MessageRepository interface {
	// Append assigns m the next seq of its channel and stores it in one
	// transaction, so that seqs are gap-free and in commit order even under
	// concurrent writers. In that transaction, serialised with
	// RemoveMember, it checks that m's sender is a member of the
	// conversation, unless opts.Service: a member removal committed before
	// the append refuses it. It returns the stored message (id, seq and
	// CreatedAt as stored) and the count of member removals of the
	// conversation committed before it (domain.ChannelState.Removals as
	// the transaction saw it). It returns domain.ErrNotFound if the
	// conversation does not exist or the sender is not a member (and not
	// opts.Service), and domain.ErrConflict if the sender already has a
	// message with m's ClientMessageID; then nothing is stored and no seq
	// is used.
	//
	// head is the channel as the transaction left it: LastSeq is the
	// message's seq, Removals the count above, and LastKey the message's
	// commit key (see StableWatermark), which is strictly greater than the
	// key of every earlier message of the channel. The key is the store's
	// and stays out of the API.
	Append(ctx context.Context, m domain.Message, opts AppendOptions) (stored domain.Message, head domain.ChannelState, err error)
	// FindByClientID returns the message sender stored with the client
	// message id, or domain.ErrNotFound.
	FindByClientID(ctx context.Context, sender domain.UserID, clientMessageID string) (domain.Message, error)
	// ListByKey returns up to limit messages of channels whose commit key
	// is in [from, below), in key order, each with its key: across
	// channels, the order in which a stable watermark passes them (see
	// StableWatermark). below must be a stable watermark, so that the
	// answer is complete.
	ListByKey(ctx context.Context, channels []domain.ChannelID, from, below int64, limit int) ([]domain.KeyedMessage, error)
	// List returns a page of history, oldest first (see domain.HistoryQuery).
	// q is valid (domain.NewHistoryQuery, domain.HistoryAfter): a store
	// does not check it again.
	List(ctx context.Context, q domain.HistoryQuery) ([]domain.Message, error)
	// StableWatermark returns a watermark W of commit keys: every message
	// with a key below W is committed and visible to any read that starts
	// after this call returns, and every message committed later has a key
	// of at least W. So the messages with keys below W never change: within
	// a channel they are the seqs 1..PrefixAt(W). Successive calls never
	// return less. It may lag behind the newest commits (on PostgreSQL
	// while any long transaction is open), never run ahead of them.
	StableWatermark(ctx context.Context) (int64, error)
	// PrefixAt returns, for each of channels, the highest seq of its
	// messages whose commit key is below w, 0 when none is or the channel
	// does not exist; the map has one entry per distinct channel asked.
	// Keys grow with seq within a channel, so the messages below w are the
	// seqs 1..PrefixAt. It is one read, meant for up to about a thousand
	// channels.
	PrefixAt(ctx context.Context, channels []domain.ChannelID, w int64) (map[domain.ChannelID]int64, error)
}

// AppendOptions qualifies one MessageRepository.Append. The zero value is a
// member's message.
type AppendOptions struct {
	// Service marks a message from a service principal (an admin token),
	// which posts into any existing conversation without being a member:
	// Append then skips the membership check.
	Service bool
}

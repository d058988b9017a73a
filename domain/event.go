package domain

// EventKind tells what a notifier event carries.
type EventKind int

// The kinds of notifier events.
const (
	// EventMessage carries a newly committed message.
	EventMessage EventKind = iota + 1
	// EventMemberRemoved tells that UserID left the group of Channel.
	EventMemberRemoved
	// EventResync tells subscribers that notifications of Channel may have
	// been lost (a notifier reconnect, say): each stream must check access
	// and the store for messages past its cursor. It always names one
	// channel; a notifier that lost track of several sends one per channel.
	EventResync
	// EventHead tells where Channel stands in the store (Head): streams
	// behind Head.LastSeq read what they lack, and streams that know of
	// fewer member removals than Head.Removals check access again. A
	// cross-instance notifier sends one per watched channel now and then,
	// so that a notification lost for good (its publisher crashed, say)
	// costs a bounded delay, never a message or a removal.
	EventHead
	// EventGuardedMessage carries a committed message that the notifier
	// cannot vouch for: it may have missed a member removal published by
	// another instance (its link to them is down, or not yet confirmed).
	// Head holds the channel's state as the message's transaction left
	// it: LastSeq is the message's seq, Removals the member removals
	// committed before it. A stream that checked access at that count of
	// removals may deliver the message as it is: no member was removed
	// between its check and the message. Any other stream checks access
	// first, as for a resync.
	EventGuardedMessage
	// EventMemberJoined, on the user channel (UserChannel) of a user, tells
	// that the user joined Conversation, at UserSeq in the user's log.
	EventMemberJoined
	// EventMemberLeft, on a user channel, tells that the user left (or was
	// removed from) Conversation, at UserSeq in the user's log. The
	// conversation's own channel still gets its EventMemberRemoved.
	EventMemberLeft
	// EventReadMoved, on a user channel, tells that the user's read
	// position in Conversation moved to ReadSeq, at UserSeq in the user's
	// log.
	EventReadMoved
)

// UserLogEvent reports whether k is one of the kinds of a user channel:
// a doorbell of the user's log. A stream that gets one reads the user's
// log from its position past what it has; so does it on an EventResync of
// the user channel, which means "re-read the user's log".
func (k EventKind) UserLogEvent() bool {
	return k == EventMemberJoined || k == EventMemberLeft || k == EventReadMoved
}

// Event is what a notifier carries from a publisher to the subscribers of a
// channel. The store stays the truth; an event is only a doorbell, which is
// why streams dedup and gap-fill by seq (by UserSeq on a user channel).
type Event struct {
	Kind    EventKind
	Channel ChannelID
	Message Message      // EventMessage, EventGuardedMessage
	UserID  UserID       // EventMemberRemoved
	Head    ChannelState // EventHead, EventGuardedMessage: LastSeq and Removals
	// Conversation is the conversation's channel that a user-log event
	// (EventMemberJoined, EventMemberLeft, EventReadMoved) is about.
	Conversation ChannelID
	// UserSeq is a user-log event's position in the user's log (from 1).
	UserSeq int64
	// ReadSeq is EventReadMoved's new read position in Conversation.
	ReadSeq int64
}

// MessageEvent returns the event announcing m.
func MessageEvent(m Message) Event {
	return Event{Kind: EventMessage, Channel: m.Channel, Message: m}
}

// CommittedMessageEvent returns the event announcing m, committed after
// removals member removals of its channel. It is an EventMessage; a
// notifier that cannot vouch for the channel's removal events hands it on
// as its Guarded form.
func CommittedMessageEvent(m Message, removals int64) Event {
	ev := MessageEvent(m)
	ev.Head = ChannelState{Channel: m.Channel, LastSeq: m.Seq, Removals: removals}
	return ev
}

// Guarded returns the EventGuardedMessage form of a message event, and
// whether it has one: only an event that knows its channel's removals at
// commit (CommittedMessageEvent) does.
func (e Event) Guarded() (Event, bool) {
	if e.Kind != EventMessage || e.Head.Channel != e.Channel || e.Head.LastSeq != e.Message.Seq {
		return Event{}, false
	}
	e.Kind = EventGuardedMessage
	return e, true
}

// MemberRemovedEvent returns the event announcing that user left channel.
func MemberRemovedEvent(channel ChannelID, user UserID) Event {
	return Event{Kind: EventMemberRemoved, Channel: channel, UserID: user}
}

// HeadEvent returns the event announcing where st.Channel stands in the
// store.
func HeadEvent(st ChannelState) Event {
	return Event{Kind: EventHead, Channel: st.Channel, Head: st}
}

// MemberJoinedEvent returns the event, on user's channel, announcing that
// user joined conversation at useq in the user's log.
func MemberJoinedEvent(user UserID, conversation ChannelID, useq int64) Event {
	return Event{Kind: EventMemberJoined, Channel: UserChannel(user), Conversation: conversation, UserSeq: useq}
}

// MemberLeftEvent returns the event, on user's channel, announcing that
// user left conversation at useq in the user's log.
func MemberLeftEvent(user UserID, conversation ChannelID, useq int64) Event {
	return Event{Kind: EventMemberLeft, Channel: UserChannel(user), Conversation: conversation, UserSeq: useq}
}

// ReadMovedEvent returns the event, on user's channel, announcing that the
// user's read position in conversation moved to readSeq, at useq in the
// user's log.
func ReadMovedEvent(user UserID, conversation ChannelID, readSeq, useq int64) Event {
	return Event{Kind: EventReadMoved, Channel: UserChannel(user), Conversation: conversation,
		ReadSeq: readSeq, UserSeq: useq}
}

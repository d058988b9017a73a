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
)

// Event is what a notifier carries from a publisher to the subscribers of a
// channel. The store stays the truth; an event is only a doorbell, which is
// why streams dedup and gap-fill by seq.
type Event struct {
	Kind    EventKind
	Channel ChannelID
	Message Message      // EventMessage, EventGuardedMessage
	UserID  UserID       // EventMemberRemoved
	Head    ChannelState // EventHead, EventGuardedMessage: LastSeq and Removals
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

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
	// been lost (a notifier reconnect, say): each stream must check the
	// store for messages past its cursor. A zero Channel means every
	// channel of the subscription.
	EventResync
	// EventHead tells where Channel stands in the store (Head): streams
	// behind Head.LastSeq read what they lack, and streams that know of
	// fewer member removals than Head.Removals check access again. A
	// cross-instance notifier sends one per watched channel now and then,
	// so that a notification lost for good (its publisher crashed, say)
	// costs a bounded delay, never a message or a removal.
	EventHead
)

// Event is what a notifier carries from a publisher to the subscribers of a
// channel. The store stays the truth; an event is only a doorbell, which is
// why streams dedup and gap-fill by seq.
type Event struct {
	Kind    EventKind
	Channel ChannelID
	Message Message      // EventMessage
	UserID  UserID       // EventMemberRemoved
	Head    ChannelState // EventHead: LastSeq and Removals
}

// MessageEvent returns the event announcing m.
func MessageEvent(m Message) Event {
	return Event{Kind: EventMessage, Channel: m.Channel, Message: m}
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

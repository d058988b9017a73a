package domain

// UserLog is what changed in one user's memberships and read positions
// after a useq: the user's sequence of changes, which the inbox stream's
// cursor carries. Every join, departure and move of a read position of the
// user takes the user's next useq, in the store's transaction that makes
// the change, so a user's useqs are gap-free and in commit order: a
// UserLog read whose Head is U holds every change up to U and none after.
type UserLog struct {
	// Head is the user's useq of the newest change, 0 when none.
	Head int64
	// Joined is the conversations the user joined after the useq and is
	// still a member of, in useq order.
	Joined []UserLogJoin
	// Departures is the conversations the user left (or was removed from)
	// after the useq, in useq order; a conversation left and joined again
	// appears here and in Joined, the departure with the lower useq.
	Departures []UserLogDeparture
	// Reads is the read positions of the user that moved after the useq,
	// in conversations the user is still a member of, in useq order; each
	// conversation once, with its current position.
	Reads []UserLogRead
}

// UserLogJoin is one join of a UserLog.
type UserLogJoin struct {
	Channel ChannelID
	Number  int64
	// USeq is the user's useq of the join.
	USeq int64
	// JoinedSeq is the conversation's last seq when the user joined: its
	// messages after it are the ones sent since the join.
	JoinedSeq int64
}

// UserLogDeparture is one departure of a UserLog.
type UserLogDeparture struct {
	Channel ChannelID
	Number  int64
	// USeq is the user's useq of the departure.
	USeq int64
}

// UserLogRead is one read position of a UserLog.
type UserLogRead struct {
	Channel ChannelID
	Number  int64
	// USeq is the user's useq of the position's last move.
	USeq int64
	// ReadSeq is the position: the seq of the last message read.
	ReadSeq int64
}

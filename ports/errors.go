package ports

import "errors"

// Reasons a Subscription ends, returned by Subscription.Err.
var (
	// ErrSlowSubscriber: the subscriber's queue was full, so it was cut off
	// rather than block the publisher or grow without bound. The client
	// resumes from its cursor and loses nothing.
	ErrSlowSubscriber = errors.New("subscriber fell behind and was cut off")
	// ErrNotifierClosed: the notifier shut down.
	ErrNotifierClosed = errors.New("notifier closed")
	// ErrSubscriptionEnded: Subscription.Subscribe was called after the
	// subscription ended (see Subscription.Err for why).
	ErrSubscriptionEnded = errors.New("subscription ended")
)

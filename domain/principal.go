package domain

import "time"

// Principal is the authenticated caller of a use case.
type Principal struct {
	UserID UserID
	// Admin marks a service token: it may read, subscribe to and post into
	// any conversation.
	Admin bool
	// ExpiresAt is when the caller's credentials expire; zero means never.
	// Open streams end when it passes.
	ExpiresAt time.Time
}

// CanAccess reports whether p may read and post in a conversation in which
// p's membership is isMember.
func (p Principal) CanAccess(isMember bool) bool { return p.Admin || isMember }

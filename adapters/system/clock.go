package system

import (
	"time"

	"github.com/relaymsg/relay/ports"
)

// Clock is the wall clock. Its zero value is ready to use.
type Clock struct{}

var _ ports.Clock = Clock{}

// NewClock returns the wall clock.
func NewClock() Clock { return Clock{} }

// Now returns the current time in UTC, so that stored and rendered times
// never depend on the host's time zone.
func (Clock) Now() time.Time { return time.Now().UTC() }

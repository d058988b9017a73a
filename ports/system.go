package ports

//go:generate go tool mockgen -destination=mocks/system.go -package=mocks github.com/relaymsg/relay/ports Clock,IDGenerator

import "time"

// Clock tells the time; tests substitute a fixed one.
type Clock interface {
	Now() time.Time
}

// IDGenerator makes the service's opaque, prefixed, unique ids
// ("msg_…", "dm_…", "grp_…").
type IDGenerator interface {
	NewID(prefix string) string
}

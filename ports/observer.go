package ports

//go:generate go tool mockgen -destination=mocks/observer.go -package=mocks github.com/relaymsg/relay/ports StreamObserver

import "github.com/relaymsg/relay/domain"

// StreamObserver is told what streams recover from the store, for metrics:
// in a healthy cluster gap fills are rare, and a rise means notifications
// are being lost.
type StreamObserver interface {
	// GapFilled reports that a stream read channel's missing messages from
	// the store because their notifications did not arrive in time;
	// recovered is how many it delivered from that read.
	GapFilled(channel domain.ChannelID, recovered int)
}

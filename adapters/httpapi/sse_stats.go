package httpapi

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/relaymsg/relay/domain"
)

// streamRegistry counts this instance's open streams and their channel
// subscriptions, for /api/sse/stats and the SSE gauges. It is touched once
// per stream connect, disconnect and channel removal, never per message,
// so one mutex is enough.
type streamRegistry struct {
	metrics *Metrics

	mu          sync.Mutex
	channels    map[domain.ChannelID]int
	connections int
}

func newStreamRegistry(m *Metrics) *streamRegistry {
	return &streamRegistry{metrics: m, channels: make(map[domain.ChannelID]int)}
}

// streamConn is one open stream's entry. Its own channel set is used only
// by the stream's goroutine.
type streamConn struct {
	reg      *streamRegistry
	channels domain.ChannelMap[struct{}]
}

func (r *streamRegistry) open(channels []domain.ChannelID) *streamConn {
	c := &streamConn{reg: r, channels: domain.MakeChannelMap[struct{}](len(channels))}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.connections++
	for _, ch := range channels {
		if !c.channels.Has(ch) {
			c.channels.Set(ch, struct{}{})
			r.channels[ch]++
		}
	}
	r.metrics.sseConnections.Inc()
	r.metrics.sseSubscriptions.Add(float64(c.channels.Len()))
	return c
}

// remove drops one channel the stream no longer receives.
func (c *streamConn) remove(ch domain.ChannelID) {
	if !c.channels.Has(ch) {
		return
	}
	c.channels.Delete(ch)
	c.reg.mu.Lock()
	defer c.reg.mu.Unlock()
	c.reg.decrement(ch)
	c.reg.metrics.sseSubscriptions.Dec()
}

// close removes the stream and whatever channels it still had.
func (c *streamConn) close() {
	c.reg.mu.Lock()
	defer c.reg.mu.Unlock()
	c.reg.connections--
	for ch := range c.channels.All() {
		c.reg.decrement(ch)
	}
	c.reg.metrics.sseConnections.Dec()
	c.reg.metrics.sseSubscriptions.Sub(float64(c.channels.Len()))
	c.channels = domain.ChannelMap[struct{}]{}
}

func (r *streamRegistry) decrement(ch domain.ChannelID) {
	if r.channels[ch]--; r.channels[ch] <= 0 {
		delete(r.channels, ch)
	}
}

// statsJSON is the body of GET /api/sse/stats.
type statsJSON struct {
	DMSubscriptions    map[string]int `json:"dmSubscriptions"`
	GroupSubscriptions map[string]int `json:"groupSubscriptions"`
	Connections        int            `json:"connections"`
}

func (r *streamRegistry) snapshot() statsJSON {
	out := statsJSON{DMSubscriptions: map[string]int{}, GroupSubscriptions: map[string]int{}}
	r.mu.Lock()
	defer r.mu.Unlock()
	out.Connections = r.connections
	for ch, n := range r.channels {
		if ch.Kind == domain.KindGroup {
			out.GroupSubscriptions[string(ch.ID)] = n
		} else {
			out.DMSubscriptions[string(ch.ID)] = n
		}
	}
	return out
}

// sseStats: GET /api/sse/stats (service token only) → this instance's
// open streams and the number of streams subscribed to each conversation.
func (h *Handler) sseStats(w http.ResponseWriter, r *http.Request) error {
	if !principalOf(r).Admin {
		return fmt.Errorf("sse stats: %w", domain.ErrForbidden)
	}
	writeJSON(w, http.StatusOK, h.streams.snapshot())
	return nil
}

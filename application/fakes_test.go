package application_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// The channels of the stream tests, with their conversation numbers and the
// short names the expected logs use.
var (
	chA = dmAB       // number 10, "A"
	chB = groupTeam  // number 20, "B"
	chC = groupOther // number 30, "C"

	channelNames = map[domain.ChannelID]string{chA: "A", chB: "B", chC: "C"}
	numberNames  = map[int64]string{10: "A", 20: "B", 30: "C"}
)

// fakeSub is a ports.Subscription whose queue and end the test controls.
type fakeSub struct {
	events  chan *domain.Event
	ready   chan struct{}
	done    chan struct{}
	crowded chan struct{} // nil: never crowded; a test may set it before the stream runs

	mu           sync.Mutex
	ended        bool
	err          error
	closes       int
	unsubscribed []domain.ChannelID
}

var _ ports.Subscription = (*fakeSub)(nil)

func newFakeSub() *fakeSub {
	return &fakeSub{events: make(chan *domain.Event, 1024), ready: make(chan struct{}, 1), done: make(chan struct{})}
}

func (s *fakeSub) Ready() <-chan struct{}   { return s.ready }
func (s *fakeSub) Crowded() <-chan struct{} { return s.crowded }
func (s *fakeSub) Done() <-chan struct{}    { return s.done }

func (s *fakeSub) Take(dst []*domain.Event, k int) []*domain.Event {
	return takeQueued(s.events, s.ready, dst, k)
}

func (s *fakeSub) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Subscribe records nothing: the application never grows a subscription.
func (s *fakeSub) Subscribe(...domain.ChannelID) error { return nil }

func (s *fakeSub) Unsubscribe(channels ...domain.ChannelID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsubscribed = append(s.unsubscribed, channels...)
}

func (s *fakeSub) Close() {
	s.mu.Lock()
	s.closes++
	s.mu.Unlock()
	s.end(nil)
}

// end closes Done with err as the reason, as a notifier does when it cuts a
// subscriber off or shuts down.
func (s *fakeSub) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.ended, s.err = true, err
		close(s.done)
	}
}

func (s *fakeSub) push(evs ...domain.Event) {
	for _, ev := range evs {
		s.events <- &ev
		signal(s.ready)
	}
}

// takeQueued is Subscription.Take for a fake whose queue is a channel:
// up to k events without waiting, and ready signalled again when some
// are left.
func takeQueued(events chan *domain.Event, ready chan struct{}, dst []*domain.Event, k int) []*domain.Event {
	for ; k > 0; k-- {
		select {
		case ev := <-events:
			dst = append(dst, ev)
		default:
			return dst
		}
	}
	if len(events) > 0 {
		signal(ready)
	}
	return dst
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (s *fakeSub) state() (closes int, unsubscribed []domain.ChannelID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closes, slices.Clone(s.unsubscribed)
}

// fakeStore backs the mocked MessageRepository.List with messages made by
// msg, and records every query.
type fakeStore struct {
	mu      sync.Mutex
	last    map[domain.ChannelID]int64
	queries []domain.HistoryQuery
	err     error
	onList  func(q domain.HistoryQuery) // called before each List answers
}

func newFakeStore() *fakeStore { return &fakeStore{last: make(map[domain.ChannelID]int64)} }

// commit makes the store hold messages 1..seq of channel.
func (s *fakeStore) commit(channel domain.ChannelID, seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last[channel] = max(s.last[channel], seq)
}

// lastOf returns the seq of channel's newest message.
func (s *fakeStore) lastOf(channel domain.ChannelID) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[channel]
}

// failure returns the error the store fails with, nil when it works.
func (s *fakeStore) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *fakeStore) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *fakeStore) list(ctx context.Context, q domain.HistoryQuery) ([]domain.Message, error) {
	s.mu.Lock()
	s.queries = append(s.queries, q)
	hook := s.onList
	s.mu.Unlock()
	if hook != nil {
		hook(q)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	if q.Anchor != domain.PageAfter || q.Limit < 1 {
		return nil, fmt.Errorf("the stream sent an unexpected query %+v", q)
	}
	var page []domain.Message
	for seq := q.Seq + 1; seq <= s.last[q.Channel] && len(page) < q.Limit; seq++ {
		page = append(page, msg(q.Channel, seq))
	}
	return page, nil
}

// queriesOf returns the anchor seq of every query of channel, in order.
func (s *fakeStore) queriesOf(channel domain.ChannelID) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for _, q := range s.queries {
		if q.Channel == channel {
			out = append(out, q.Seq)
		}
	}
	return out
}

// recordingSink is an application.StreamSink that logs every call in a
// compact form ("A3 {A:3 B:1}", "removed B {A:5}", "flush", …) and runs
// the test's script: steps[i] runs during the i-th Flush, on the goroutine
// running Stream.Run, so every step happens at a known point of the stream.
type recordingSink struct {
	t           *testing.T
	log         []string
	steps       []func()
	flushes     int
	failOn      map[string]error // log entry (or "flush#i") → error to return
	onHeartbeat func()
}

// delivered returns the log without its flushes.
func (s *recordingSink) delivered() []string {
	var out []string
	for _, e := range s.log {
		if e != "flush" {
			out = append(out, e)
		}
	}
	return out
}

var _ application.StreamSink = (*recordingSink)(nil)

func (s *recordingSink) record(entry string) error {
	s.log = append(s.log, entry)
	return s.failOn[entry]
}

func (s *recordingSink) Message(m domain.Message, cursor domain.Cursor) error {
	if want := msg(m.Channel, m.Seq); m != want {
		s.t.Errorf("delivered %+v, want the stored %+v", m, want)
	}
	return s.record(fmt.Sprintf("%s%d %s", channelNames[m.Channel], m.Seq, renderCursor(s.t, cursor)))
}

func (s *recordingSink) ChannelRemoved(channel domain.ChannelID, cursor domain.Cursor) error {
	return s.record(fmt.Sprintf("removed %s %s", channelNames[channel], renderCursor(s.t, cursor)))
}

func (s *recordingSink) TokenExpired() error { return s.record("expired") }

func (s *recordingSink) Heartbeat() error {
	if s.onHeartbeat != nil {
		s.onHeartbeat()
	}
	return s.record("heartbeat")
}

func (s *recordingSink) Flush() error {
	i := s.flushes
	s.flushes++
	if err := s.record("flush"); err != nil {
		return err
	}
	if err := s.failOn[fmt.Sprintf("flush#%d", i)]; err != nil {
		return err
	}
	if i < len(s.steps) {
		s.steps[i]()
	}
	return nil
}

// renderCursor decodes the cursor's text form, as a client would send it
// back, and renders its positions as {A:3 B:1}.
func renderCursor(t *testing.T, c domain.Cursor) string {
	t.Helper()
	parsed, err := domain.ParseCursor(c.String())
	if err != nil {
		t.Errorf("the sink got a cursor that does not parse: %q: %v", c.String(), err)
		return "{?}"
	}
	parts := make([]string, 0, parsed.Len())
	for _, p := range parsed.Positions() {
		name, ok := numberNames[p.Number]
		if !ok {
			name = fmt.Sprint(p.Number)
		}
		parts = append(parts, fmt.Sprintf("%s:%d", name, p.Seq))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

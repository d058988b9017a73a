package notifiertest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// Timeout bounds every wait of the suite. It is generous because remote
// notifiers deliver over the network and CI machines stall; no assertion
// depends on how long anything takes within it.
const Timeout = 5 * time.Second

// Config is what a test asks of the notifier it is given.
type Config struct {
	// QueueSize is the capacity of each subscription's queue. A subscriber
	// that never reads must be cut off, with ports.ErrSlowSubscriber, once
	// more than QueueSize events have been published to it; one that keeps
	// fewer than QueueSize events waiting must not be. Tests that publish
	// before they read ask for a queue that holds everything they publish.
	QueueSize int
}

// Factory returns a new, empty notifier honouring cfg. It must register a
// t.Cleanup that shuts the notifier down and waits for its goroutines.
// Notifiers given to different tests must not see each other's events
// unless they share a channel; the suite uses channels of random ids, so
// sharing one Redis or PostgreSQL server between tests is fine.
type Factory func(t *testing.T, cfg Config) ports.Notifier

// Run runs the contract suite against notifiers made by newNotifier.
//
// Call it from a test that is not parallel: one subtest counts goroutines
// and needs the rest of the process to be quiet. The other subtests run in
// parallel with each other.
func Run(t *testing.T, newNotifier Factory) {
	t.Helper()
	// First and alone, so that no other subtest's goroutines are counted.
	t.Run("ReleasesGoroutines", func(t *testing.T) { testReleasesGoroutines(t, newNotifier) })

	tests := []struct {
		name string
		test func(*testing.T, Factory)
	}{
		{"Ping", testPing},
		{"FanOut", testFanOut},
		{"OrderPerChannel", testOrderPerChannel},
		{"MultipleChannels", testMultipleChannels},
		{"DuplicateChannel", testDuplicateChannel},
		{"Unsubscribe", testUnsubscribe},
		{"Close", testClose},
		{"SlowSubscriberCutOff", testSlowSubscriberCutOff},
		{"MemberRemoved", testMemberRemoved},
		{"SubscribeAdds", testSubscribeAdds},
		{"SubscribeOrder", testSubscribeOrder},
		{"UnsubscribeAdded", testUnsubscribeAdded},
		{"SubscribeAfterEnd", testSubscribeAfterEnd},
		{"UserChannel", testUserChannel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, newNotifier)
		})
	}
}

// newChannel returns a channel no other test uses.
func newChannel() domain.ChannelID {
	return domain.GroupChannel(domain.ConversationID("grp_nt" + strings.ToLower(rand.Text())))
}

// messageEvent returns the event of the message with seq in ch. Its time
// has microsecond precision and no monotonic reading, so that it survives
// the encodings of remote notifiers.
func messageEvent(ch domain.ChannelID, seq int64) domain.Event {
	return domain.MessageEvent(domain.Message{
		ID:              fmt.Sprintf("msg_%s_%d", ch.ID, seq),
		Channel:         ch,
		Seq:             seq,
		SenderID:        "u_alice",
		PersonaID:       "p_1",
		Content:         fmt.Sprintf("message %d", seq),
		ClientMessageID: fmt.Sprintf("c-%d", seq),
		CreatedAt:       time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC).Add(time.Duration(seq) * time.Millisecond),
	})
}

func subscribe(t *testing.T, n ports.Notifier, channels ...domain.ChannelID) ports.Subscription {
	t.Helper()
	sub, err := n.Subscribe(t.Context(), channels)
	if err != nil {
		t.Fatalf("Subscribe(%v): %v", channels, err)
	}
	t.Cleanup(sub.Close)
	return sub
}

func publish(t *testing.T, n ports.Notifier, ev domain.Event) {
	t.Helper()
	if err := n.Publish(t.Context(), ev); err != nil {
		t.Fatalf("Publish(%s seq %d): %v", ev.Channel, ev.Message.Seq, err)
	}
}

// receive returns the next event of sub other than a resync, waiting up to
// Timeout. It fails the test if the subscription ends or nothing comes.
func receive(t *testing.T, sub ports.Subscription) domain.Event {
	t.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	for {
		if ev, ok := nextQueued(sub); ok {
			return ev
		}
		select {
		case <-sub.Ready():
		case <-sub.Done():
			// An event queued before the end still counts.
			if ev, ok := nextQueued(sub); ok {
				return ev
			}
			t.Fatalf("subscription ended while waiting for an event: %v", sub.Err())
		case <-timer.C:
			t.Fatalf("no event within %v", Timeout)
		}
	}
}

// nextQueued takes sub's queued events up to the first that is no hint,
// and returns it, without waiting.
func nextQueued(sub ports.Subscription) (domain.Event, bool) {
	for {
		ev, ok := TakeOne(sub)
		if !ok {
			return domain.Event{}, false
		}
		if !isHint(ev) {
			return *ev, true
		}
	}
}

// Await returns the oldest event queued in sub, waiting for one until stop
// delivers; ok is false then, or when sub ended with nothing queued (its
// Done is closed).
func Await(sub ports.Subscription, stop <-chan time.Time) (ev *domain.Event, ok bool) {
	for {
		if ev, ok := TakeOne(sub); ok {
			return ev, true
		}
		select {
		case <-sub.Ready():
		case <-sub.Done():
			return TakeOne(sub)
		case <-stop:
			return nil, false
		}
	}
}

// TakeOne takes the oldest event queued in sub, if any, without waiting.
func TakeOne(sub ports.Subscription) (*domain.Event, bool) {
	if evs := sub.Take(nil, 1); len(evs) == 1 {
		return evs[0], true
	}
	return nil, false
}

// isHint reports an event that a notifier may add at any time: a resync
// or a channel's head, which only make streams consult the store.
func isHint(ev *domain.Event) bool {
	return ev.Kind == domain.EventResync || ev.Kind == domain.EventHead
}

// expect fails the test unless the next event of sub is want.
func expect(t *testing.T, sub ports.Subscription, want domain.Event) {
	t.Helper()
	if got := receive(t, sub); !sameEvent(got, want) {
		t.Fatalf("received %s, want %s", describe(got), describe(want))
	}
}

// drain returns the events other than hints already in sub's queue.
func drain(sub ports.Subscription) []domain.Event {
	var events []domain.Event
	for {
		ev, ok := nextQueued(sub)
		if !ok {
			return events
		}
		events = append(events, ev)
	}
}

// waitDone waits up to Timeout for sub to end and returns its Err.
func waitDone(t *testing.T, sub ports.Subscription) error {
	t.Helper()
	select {
	case <-sub.Done():
		return sub.Err()
	case <-time.After(Timeout):
		t.Fatalf("subscription did not end within %v", Timeout)
		return nil
	}
}

// assertLive fails the test if sub has ended.
func assertLive(t *testing.T, sub ports.Subscription, name string) {
	t.Helper()
	select {
	case <-sub.Done():
		t.Fatalf("%s subscription ended: %v", name, sub.Err())
	default:
	}
}

// sameEvent compares events field by field, times with Equal, because a
// remote notifier's encoding may change a time's location.
func sameEvent(a, b domain.Event) bool {
	ma, mb := a.Message, b.Message
	return a.Kind == b.Kind && a.Channel == b.Channel && a.UserID == b.UserID &&
		a.Conversation == b.Conversation && a.UserSeq == b.UserSeq && a.ReadSeq == b.ReadSeq &&
		ma.ID == mb.ID && ma.Channel == mb.Channel && ma.Seq == mb.Seq &&
		ma.SenderID == mb.SenderID && ma.PersonaID == mb.PersonaID &&
		ma.Content == mb.Content && ma.ClientMessageID == mb.ClientMessageID &&
		ma.CreatedAt.Equal(mb.CreatedAt)
}

func describe(ev domain.Event) string {
	switch ev.Kind {
	case domain.EventMessage:
		return fmt.Sprintf("message %s seq %d on %s", ev.Message.ID, ev.Message.Seq, ev.Channel)
	case domain.EventMemberRemoved:
		return fmt.Sprintf("member %s removed from %s", ev.UserID, ev.Channel)
	case domain.EventMemberJoined, domain.EventMemberLeft, domain.EventReadMoved:
		return fmt.Sprintf("user-log event %d on %s: %s read %d useq %d",
			ev.Kind, ev.Channel, ev.Conversation, ev.ReadSeq, ev.UserSeq)
	}
	return fmt.Sprintf("%+v", ev)
}

var errLeak = errors.New("goroutines leaked")

// waitGoroutines waits up to Timeout for the number of goroutines to fall
// to at most want; goroutines that are told to stop take a moment to exit.
func waitGoroutines(want int) error {
	deadline := time.Now().Add(Timeout)
	for {
		got := runtime.NumGoroutine()
		if got <= want {
			return nil
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return fmt.Errorf("%w: %d goroutines before, %d after:\n%s", errLeak, want, got, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

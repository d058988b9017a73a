package clustertest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
	"github.com/relaymsg/relay/ports/notifiertest"
)

// testResyncOnSubscribe: once a transport receives a channel it has just
// been asked for, the channel's subscribers resync, which covers whatever
// other instances published before.
func testResyncOnSubscribe(t *testing.T, newTransport NewTransport) {
	n, _ := NewInstance(t, newTransport(t, Namespace()), 16)
	a, b := NewChannel(), NewChannel()
	sub := Subscribe(t, n, a, b)
	want := map[domain.ChannelID]bool{a: true, b: true}
	for len(want) > 0 {
		ev := Next(t, sub)
		if ev.Kind != domain.EventResync || !want[ev.Channel] {
			t.Fatalf("received %+v, want a resync of %v", ev, want)
		}
		delete(want, ev.Channel)
	}
}

// testResyncOnAdd: a channel added to a subscription is watched like a
// new subscription's: once the transport receives it, the subscription
// resyncs it, and then it gets what other instances publish. A user
// channel too, whose resync means "re-read the user's log".
func testResyncOnAdd(t *testing.T, newTransport NewTransport) {
	ns := Namespace()
	n, _ := NewInstance(t, newTransport(t, ns), 16)
	other, _ := NewInstance(t, newTransport(t, ns), 16)
	kept := NewChannel()
	sub := SubscribeConfirmed(t, n, kept)
	added, user := NewChannel(), domain.UserChannel(domain.UserID("auth|ct:"+strings.ToLower(rand.Text()[:10])+"/%2F*"))
	if err := sub.Subscribe(added, user); err != nil {
		t.Fatalf("Subscription.Subscribe: %v", err)
	}
	want := map[domain.ChannelID]bool{added: true, user: true}
	for len(want) > 0 {
		ev := Next(t, sub)
		if ev.Kind != domain.EventResync || !want[ev.Channel] {
			t.Fatalf("received %+v, want a resync of %v", ev, want)
		}
		delete(want, ev.Channel)
	}
	WaitReceiving(t, n, added, user)
	msg := Message(added, 1)
	joined := domain.MemberJoinedEvent(domain.UserID(user.ID), added, 1)
	for _, ev := range []domain.Event{msg, joined} {
		if err := other.Publish(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if got := NextMessage(t, sub); got.Kind != domain.EventMessage || got.Channel != added || got.Message.Seq != 1 {
		t.Fatalf("received %+v, want message 1 of %s", got, added)
	}
	if got := NextMessage(t, sub); got != joined {
		t.Fatalf("received %+v, want %+v", got, joined)
	}
	// Closing releases the added channels: the transport stops receiving
	// them.
	sub.Close()
	if err := Eventually(t.Context(), func(context.Context) error {
		if n.Receiving(added) || n.Receiving(user) {
			return fmt.Errorf("%s or %s still received after Close", added, user)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// testNoEcho: an event comes back to its own instance through the
// transport; the hub has delivered it already, so it must not be delivered
// again.
func testNoEcho(t *testing.T, newTransport NewTransport) {
	ns := Namespace()
	a, _ := NewInstance(t, newTransport(t, ns), 16)
	b, _ := NewInstance(t, newTransport(t, ns), 16)
	ch := NewChannel()
	sub := Subscribe(t, a, ch)
	WaitReceiving(t, a, ch) // else a's own message reaches sub as a resync
	// b must receive ch for its own publish to go round through a's
	// transport; its subscriber's resync tells it does.
	onB := Subscribe(t, b, ch)
	if ev := Next(t, onB); ev.Kind != domain.EventResync {
		t.Fatalf("received %+v on b, want its resync first", ev)
	}
	first, second := Message(ch, 1), Message(ch, 2)
	if err := a.Publish(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	// second crosses the transport after a's echo of first would have.
	if err := b.Publish(t.Context(), second); err != nil {
		t.Fatal(err)
	}
	for _, want := range []domain.Event{first, second} {
		if got := NextMessage(t, sub); got.Message.Seq != want.Message.Seq {
			t.Fatalf("received seq %d, want %d (an echo?)", got.Message.Seq, want.Message.Seq)
		}
	}
}

// NewChannel returns a channel no other test uses.
func NewChannel() domain.ChannelID {
	return domain.GroupChannel(domain.ConversationID("grp_ct" + strings.ToLower(rand.Text()[:12])))
}

// Message returns the event of message seq of ch.
func Message(ch domain.ChannelID, seq int64) domain.Event {
	return domain.MessageEvent(domain.Message{
		ID: fmt.Sprintf("msg_%s_%d", ch.ID, seq), Channel: ch, Seq: seq, SenderID: "u_alice",
		Content: fmt.Sprintf("message %d", seq), CreatedAt: time.Now().UTC(),
	})
}

// Subscribe subscribes to channels of n, failing t on error; the
// subscription closes when t ends.
func Subscribe(t *testing.T, n ports.Notifier, channels ...domain.ChannelID) ports.Subscription {
	t.Helper()
	sub, err := n.Subscribe(t.Context(), channels)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// SubscribeConfirmed subscribes and consumes the resync that the
// transport's confirmation of each new channel brings, which tells that the
// instance now receives the channels. For a notifier that tells (a
// cluster.Notifier), it then waits until the channels count as received:
// the confirmation resyncs before it marks the channel, so a local
// message published right after the resync may still become a resync.
func SubscribeConfirmed(t *testing.T, n ports.Notifier, channels ...domain.ChannelID) ports.Subscription {
	t.Helper()
	sub := Subscribe(t, n, channels...)
	for range channels {
		ExpectKind(t, sub, domain.EventResync)
	}
	WaitReceiving(t, n, channels...)
	return sub
}

// WaitReceiving waits until n, if it is a cluster.Notifier (or anything
// that reports Receiving), hands local messages of channels over as they
// are: its transport has confirmed them.
func WaitReceiving(t *testing.T, n ports.Notifier, channels ...domain.ChannelID) {
	t.Helper()
	r, ok := n.(interface{ Receiving(domain.ChannelID) bool })
	if !ok {
		return
	}
	if err := Eventually(t.Context(), func(context.Context) error {
		for _, ch := range channels {
			if !r.Receiving(ch) {
				return fmt.Errorf("%s not confirmed by the transport", ch)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// ExpectKind fails t unless the next event of sub is of kind, and returns it.
func ExpectKind(t *testing.T, sub ports.Subscription, kind domain.EventKind) domain.Event {
	t.Helper()
	ev := Next(t, sub)
	if ev.Kind != kind {
		t.Fatalf("received %+v, want an event of kind %d", ev, kind)
	}
	return ev
}

// Next returns the next event of sub, resyncs included, waiting up to
// notifiertest.Timeout.
func Next(t *testing.T, sub ports.Subscription) domain.Event {
	t.Helper()
	timer := time.NewTimer(notifiertest.Timeout)
	defer timer.Stop()
	ev, ok := notifiertest.Await(sub, timer.C)
	switch {
	case ok:
		return *ev
	case sub.Err() != nil:
		t.Fatalf("subscription ended: %v", sub.Err())
	default:
		t.Fatalf("no event within %v", notifiertest.Timeout)
	}
	return domain.Event{}
}

// NextMessage returns the next event of sub other than a resync.
func NextMessage(t *testing.T, sub ports.Subscription) domain.Event {
	t.Helper()
	for {
		if ev := Next(t, sub); ev.Kind != domain.EventResync {
			return ev
		}
	}
}

// logger returns a logger that writes to t's log when the test is verbose,
// and nowhere otherwise.
func logger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

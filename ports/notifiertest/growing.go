package notifiertest

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// newUser returns a user id no other test uses, with the characters a
// user id may have and a conversation id may not (':'), and some that
// transports could mistake for syntax ('/', '%', '*', '?').
func newUser() domain.UserID {
	return domain.UserID("auth|nt:" + strings.ToLower(rand.Text()[:12]) + "/a%2F*?:b")
}

// addChannels grows sub, failing the test on error.
func addChannels(t *testing.T, sub ports.Subscription, channels ...domain.ChannelID) {
	t.Helper()
	if err := sub.Subscribe(channels...); err != nil {
		t.Fatalf("Subscription.Subscribe(%v): %v", channels, err)
	}
}

// testSubscribeAdds: a channel added to a subscription gets the events
// published after the add, and none published before.
func testSubscribeAdds(t *testing.T, newNotifier Factory) {
	n := newNotifier(t, Config{QueueSize: 16})
	kept, added := newChannel(), newChannel()
	sub := subscribe(t, n, kept)
	publish(t, n, messageEvent(added, 1))
	// Once kept's event, published after added's, has arrived, added's
	// has arrived too or never will.
	publish(t, n, messageEvent(kept, 1))
	expect(t, sub, messageEvent(kept, 1))

	addChannels(t, sub, added)
	publish(t, n, messageEvent(added, 2))
	expect(t, sub, messageEvent(added, 2)) // not 1
	publish(t, n, messageEvent(kept, 2))
	expect(t, sub, messageEvent(kept, 2))

	// Adding a channel subscribed already, or twice, delivers it once.
	addChannels(t, sub, kept, added, added)
	publish(t, n, messageEvent(added, 3))
	publish(t, n, messageEvent(kept, 3))
	want := []domain.Event{messageEvent(added, 3), messageEvent(kept, 3)}
	for range want {
		got := receive(t, sub)
		i := indexOf(want, got)
		if i < 0 {
			t.Fatalf("received %s, want one of %v", describe(got), want)
		}
		want = append(want[:i], want[i+1:]...)
	}
	sentinel := messageEvent(kept, 4)
	publish(t, n, sentinel)
	expect(t, sub, sentinel) // a duplicate would have come first
	// Adding nothing is harmless.
	addChannels(t, sub)
	assertLive(t, sub, "the")
}

// testSubscribeOrder: events of an added channel arrive in publish order.
func testSubscribeOrder(t *testing.T, newNotifier Factory) {
	const count = 50
	n := newNotifier(t, Config{QueueSize: count + 16})
	added := newChannel()
	sub := subscribe(t, n) // no channels yet
	addChannels(t, sub, added)
	for seq := int64(1); seq <= count; seq++ {
		publish(t, n, messageEvent(added, seq))
	}
	for seq := int64(1); seq <= count; seq++ {
		expect(t, sub, messageEvent(added, seq))
	}
}

// testUnsubscribeAdded: a channel added can be unsubscribed, and added
// again.
func testUnsubscribeAdded(t *testing.T, newNotifier Factory) {
	n := newNotifier(t, Config{QueueSize: 16})
	kept, added := newChannel(), newChannel()
	sub := subscribe(t, n, kept)
	addChannels(t, sub, added)
	publish(t, n, messageEvent(added, 1))
	expect(t, sub, messageEvent(added, 1))

	sub.Unsubscribe(added)
	publish(t, n, messageEvent(added, 2))
	publish(t, n, messageEvent(kept, 1))
	expect(t, sub, messageEvent(kept, 1)) // added's 2 would have come first

	addChannels(t, sub, added)
	publish(t, n, messageEvent(added, 3))
	expect(t, sub, messageEvent(added, 3))
}

// testSubscribeAfterEnd: a subscription that has ended cannot grow, and
// closing one that grew releases its added channels: the other
// subscribers of those channels carry on alone.
func testSubscribeAfterEnd(t *testing.T, newNotifier Factory) {
	n := newNotifier(t, Config{QueueSize: 16})
	ch, added := newChannel(), newChannel()
	grown := subscribe(t, n, ch)
	other := subscribe(t, n, added)
	addChannels(t, grown, added)
	publish(t, n, messageEvent(added, 1))
	expect(t, grown, messageEvent(added, 1))
	expect(t, other, messageEvent(added, 1))

	grown.Close()
	if err := waitDone(t, grown); err != nil {
		t.Fatalf("Err after Close = %v, want nil", err)
	}
	if err := grown.Subscribe(newChannel()); !errors.Is(err, ports.ErrSubscriptionEnded) {
		t.Fatalf("Subscribe after Close = %v, want %v", err, ports.ErrSubscriptionEnded)
	}
	publish(t, n, messageEvent(added, 2))
	expect(t, other, messageEvent(added, 2))
	if got := drain(grown); len(got) != 0 {
		t.Fatalf("closed subscription got %d more events: %s first", len(got), describe(got[0]))
	}
}

// testUserChannel: a user's channel carries the user-log events, with
// every field, and is not the channel of a conversation of the same id.
func testUserChannel(t *testing.T, newNotifier Factory) {
	n := newNotifier(t, Config{QueueSize: 16})
	user := newUser()
	conv := newChannel()
	look := domain.GroupChannel(domain.ConversationID("grp_nt" + strings.ToLower(rand.Text()[:12])))
	lookalike := domain.UserChannel(domain.UserID(look.ID)) // "user:grp_nt…"
	sub := subscribe(t, n, domain.UserChannel(user), lookalike)
	events := []domain.Event{
		domain.MemberJoinedEvent(user, conv, 1),
		domain.ReadMovedEvent(user, conv, 17, 2),
		domain.MemberLeftEvent(user, conv, 3),
	}
	// The conversation of the lookalike's id is another channel.
	publish(t, n, messageEvent(look, 1))
	for _, ev := range events {
		publish(t, n, ev)
	}
	for _, ev := range events {
		expect(t, sub, ev)
	}
	sentinel := domain.MemberJoinedEvent(domain.UserID(look.ID), conv, 1)
	publish(t, n, sentinel)
	expect(t, sub, sentinel)

	// A user channel can be added, like any other.
	later := subscribe(t, n)
	addChannels(t, later, domain.UserChannel(user))
	ev := domain.ReadMovedEvent(user, conv, 18, 4)
	publish(t, n, ev)
	expect(t, later, ev)
	expect(t, sub, ev)
}

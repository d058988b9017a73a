package redis

import (
	"slices"
	"testing"

	"github.com/relaymsg/relay/domain"
)

// TestPlanResubscribesRewatchedChannel: an Unwatch and a Watch of a channel
// that is still subscribed can reach the sync loop together. The Notifier
// has marked the channel unconfirmed again and trusts it only after a
// confirmation, so the plan must send SUBSCRIBE again (Redis answers it
// even for a subscribed channel) rather than nothing.
func TestPlanResubscribesRewatchedChannel(t *testing.T) {
	ch := domain.GroupChannel("grp_plan")
	tr := &Transport{changes: map[domain.ChannelID]bool{ch: true}}
	subs, unsubs := tr.plan(map[domain.ChannelID]bool{ch: true}, map[domain.ChannelID]bool{})
	if !slices.Equal(subs, []domain.ChannelID{ch}) || len(unsubs) != 0 {
		t.Fatalf("plan = subscribe %v, unsubscribe %v; want subscribe [%s]", subs, unsubs, ch)
	}
}

// TestRedisChannelRoundTrip: every kind of channel, user channels with
// ':' and glob characters in the id included, maps to a Redis channel
// name and back. SUBSCRIBE takes names literally, so '*' is no pattern.
func TestRedisChannelRoundTrip(t *testing.T) {
	tr := &Transport{channelPrefix: "relay:ch:"}
	for _, ch := range []domain.ChannelID{
		domain.DMChannel("dm_1"), domain.GroupChannel("grp_2"),
		domain.UserChannel("u_alice"), domain.UserChannel("auth0|a:b/c%2F*?[x]"),
	} {
		name := tr.RedisChannel(ch)
		if got, ok := tr.channelOf(name); !ok || got != ch {
			t.Errorf("channelOf(%q) = %v, %v; want %v", name, got, ok, ch)
		}
	}
	if got, ok := tr.channelOf("relay:ch:user:"); ok {
		t.Errorf("channelOf of an empty user id = %v, want none", got)
	}
}

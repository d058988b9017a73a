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

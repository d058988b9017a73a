package main

import (
	"slices"
	"testing"
)

// TestInboxTopology: every user is in exactly perUser groups, no group
// names a user twice or holds more than members, the groups are those
// inboxGroupCount counts, and a user's conversations are not all with the
// same people.
func TestInboxTopology(t *testing.T) {
	t.Parallel()
	tests := []struct{ users, perUser, members int }{
		{users: 200, perUser: 100, members: 4},
		{users: 10, perUser: 7, members: 4}, // 4 does not divide 10
		{users: 5, perUser: 3, members: 5},  // one group a round
		{users: 3, perUser: 2, members: 1},  // each user alone with the senders
	}
	for _, tt := range tests {
		top := newInboxTopology("r", tt.users, tt.perUser, tt.members, 2, inboxSeed)
		if got, want := len(top.groups), inboxGroupCount(tt.users, tt.perUser, tt.members); got != want {
			t.Errorf("%+v: %d groups, inboxGroupCount %d", tt, got, want)
		}
		if len(top.senders) != 2 || len(top.users) != tt.users {
			t.Fatalf("%+v: senders %v, %d users", tt, top.senders, len(top.users))
		}
		in := make(map[string][]int) // user → groups, from the groups
		for g, grp := range top.groups {
			if len(grp.subscribers) == 0 || len(grp.subscribers) > tt.members {
				t.Errorf("%+v: group %d has %d users", tt, g, len(grp.subscribers))
			}
			seen := make(map[string]bool)
			for _, u := range grp.subscribers {
				if seen[u] {
					t.Errorf("%+v: group %d names %s twice", tt, g, u)
				}
				seen[u] = true
				in[u] = append(in[u], g)
			}
		}
		plans := top.plans()
		if len(plans) != tt.users {
			t.Fatalf("%+v: %d plans, want one inbox per user", tt, len(plans))
		}
		for i, p := range plans {
			if !p.inbox || p.user != top.users[i] || len(p.groups) != tt.perUser || !slices.Equal(p.groups, in[p.user]) {
				t.Errorf("%+v: plan %+v; want the inbox of %s over its %d groups %v", tt, p, top.users[i], tt.perUser, in[top.users[i]])
			}
		}
	}

	// Rounds are shuffled anew: user 0's groups do not all hold the same
	// people, and the same seed draws the same groups.
	top := newInboxTopology("r", 200, 100, 4, 2, inboxSeed)
	first := top.groups[top.userGroups[0][0]].subscribers
	same := 0
	for _, g := range top.userGroups[0] {
		if slices.Equal(top.groups[g].subscribers, first) {
			same++
		}
	}
	if same > 2 {
		t.Errorf("user 0 is in %d groups with the same people", same)
	}
	again := newInboxTopology("r", 200, 100, 4, 2, inboxSeed)
	for g := range top.groups {
		if !slices.Equal(top.groups[g].subscribers, again.groups[g].subscribers) {
			t.Fatalf("group %d differs between two draws of one seed", g)
		}
	}
}

// TestGroupsTopologyPlans: the groups shape streams each subscriber's one
// group.
func TestGroupsTopologyPlans(t *testing.T) {
	t.Parallel()
	top := newTopology("r", 3, 2, 1)
	plans := top.plans()
	if len(plans) != 6 {
		t.Fatalf("%d plans, want 3 groups x 2 subscribers", len(plans))
	}
	for i, p := range plans {
		if p.inbox || len(p.groups) != 1 || p.groups[0] != i/2 || p.user != top.groups[i/2].subscribers[i%2] {
			t.Errorf("plan %d = %+v", i, p)
		}
	}
}

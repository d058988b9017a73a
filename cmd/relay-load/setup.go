package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// maxCreateMembers is how many members POST /api/groups may name; the rest
// are added one by one.
const maxCreateMembers = 1000

// topology is who is in which group. Senders belong to every group. In
// the groups shape each subscriber belongs to one group and streams it; in
// the inbox shape each user belongs to several and streams its inbox.
type topology struct {
	run     string
	senders []string
	groups  []group
	// The inbox shape only: the users, and for each the indices in groups
	// of the groups it is in.
	users      []string
	userGroups [][]int
}

// group is one group of the run.
type group struct {
	id          string // set once created
	subscribers []string
}

// inboxSeed draws the inbox shape's groups: the same draw every run (the
// ids differ by run anyway), so runs of one command line compare.
const inboxSeed = 1

// inboxGroupCount is the number of groups newInboxTopology makes: one
// round of groups per conversation of a user, each round covering every
// user once in groups of members (the last group of a round smaller when
// members does not divide users).
func inboxGroupCount(users, perUser, members int) int {
	if members < 1 {
		return 0
	}
	return perUser * ((users + members - 1) / members)
}

// newInboxTopology names users users of run and puts each in exactly
// perUser groups of (at most) members users besides the senders: every
// round shuffles the users and cuts them into groups, so that a user's
// conversations are with different people, as an inbox's are.
func newInboxTopology(run string, users, perUser, members, senders int, seed uint64) topology {
	t := newTopology(run, 0, 0, senders)
	t.users = make([]string, users)
	t.userGroups = make([][]int, users)
	for i := range t.users {
		t.users[i] = fmt.Sprintf("load-%s-u%d", run, i)
		t.userGroups[i] = make([]int, 0, perUser)
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	order := make([]int, users)
	for i := range order {
		order[i] = i
	}
	t.groups = make([]group, 0, inboxGroupCount(users, perUser, members))
	for range perUser {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for start := 0; start < users; start += members {
			g := len(t.groups)
			var subs []string
			for _, u := range order[start:min(start+members, users)] {
				subs = append(subs, t.users[u])
				t.userGroups[u] = append(t.userGroups[u], g)
			}
			t.groups = append(t.groups, group{subscribers: subs})
		}
	}
	return t
}

// streamPlan is one stream the run opens: its user, whether it is the
// user's inbox (else the one group's channel) and the groups, by index in
// topology.groups, whose messages it must deliver.
type streamPlan struct {
	user   string
	inbox  bool
	groups []int
}

// plans lists the run's streams: one per (group, subscriber) in the groups
// shape, one per user in the inbox shape.
func (t topology) plans() []streamPlan {
	if t.users != nil {
		out := make([]streamPlan, len(t.users))
		for i, u := range t.users {
			out[i] = streamPlan{user: u, inbox: true, groups: t.userGroups[i]}
		}
		return out
	}
	var out []streamPlan
	for g, grp := range t.groups {
		for _, u := range grp.subscribers {
			out = append(out, streamPlan{user: u, groups: []int{g}})
		}
	}
	return out
}

// newTopology names the users of run: every id carries the run id, so runs
// against one database never share a user.
func newTopology(run string, groups, subscribers, senders int) topology {
	t := topology{run: run, senders: make([]string, senders), groups: make([]group, groups)}
	for i := range t.senders {
		t.senders[i] = fmt.Sprintf("load-%s-s%d", run, i)
	}
	for g := range t.groups {
		subs := make([]string, subscribers)
		for i := range subs {
			subs[i] = fmt.Sprintf("load-%s-g%d-u%d", run, g, i)
		}
		t.groups[g].subscribers = subs
	}
	return t
}

// newRunID returns a short id that differs between runs.
func newRunID() string { return strconv.FormatInt(time.Now().UnixMilli()%(1<<40), 36) }

// createGroups creates every group through the API, workers at a time; the
// first sender creates each and so belongs to it. The first failure stops
// the rest.
func createGroups(ctx context.Context, a *api, t *topology, workers int) error {
	creator, err := a.serviceToken(t.senders[0])
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(t.groups)) {
		wg.Go(func() {
			for i := range jobs {
				id, err := createGroup(ctx, a, creator, t, i)
				if err != nil {
					cancel(fmt.Errorf("create group %d: %w", i, err))
					continue
				}
				t.groups[i].id = id // each worker writes its own elements only
			}
		})
	}
	feed(ctx, jobs, len(t.groups))
	wg.Wait()
	return context.Cause(ctx)
}

// feed sends 0..n-1 on jobs until ctx is done, then closes it.
func feed(ctx context.Context, jobs chan<- int, n int) {
	defer close(jobs)
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			return
		}
	}
}

// createGroup creates group i with its subscribers and the other senders.
func createGroup(ctx context.Context, a *api, creator string, t *topology, i int) (string, error) {
	members := make([]string, 0, len(t.senders)-1+len(t.groups[i].subscribers))
	members = append(members, t.senders[1:]...)
	members = append(members, t.groups[i].subscribers...)
	first := members[:min(len(members), maxCreateMembers)]
	id, err := a.createGroup(ctx, creator, fmt.Sprintf("load %s %d", t.run, i), first)
	if err != nil {
		return "", err
	}
	for _, m := range members[len(first):] {
		if err := a.addMember(ctx, creator, id, m); err != nil {
			return "", err
		}
	}
	return id, nil
}

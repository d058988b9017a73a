package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// maxCreateMembers is how many members POST /api/groups may name; the rest
// are added one by one.
const maxCreateMembers = 1000

// topology is who is in which group. Senders belong to every group;
// subscribers to one each.
type topology struct {
	run     string
	senders []string
	groups  []group
}

// group is one group of the run.
type group struct {
	id          string // set once created
	subscribers []string
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

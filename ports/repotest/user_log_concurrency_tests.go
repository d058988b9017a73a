package repotest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// testUserLogConcurrent runs 20 changes of one user at once, each of a
// kind whose entry stays in the log (an addition, a removal, a read of
// its own group), and checks that they took exactly the useqs after the
// head before them, each once, and changed no one else's head.
func testUserLogConcurrent(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	const n = 20
	groups := make([]domain.Conversation, n)
	for i := range groups {
		members := []domain.UserID{bob}
		if i >= n/2 { // alice is in the second half, to leave or to read
			members = append(members, alice)
		}
		groups[i] = f.createGroup(t, fmt.Sprintf("g%02d", i), members...)
		f.appendN(t, groups[i].Channel(), bob, 1)
	}
	before := int64(n / 2)
	f.wantHeads(t, "before", map[domain.UserID]int64{alice: before, bob: n})

	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() {
			ch := g.Channel()
			var err error
			switch {
			case i < n/2:
				_, err = f.convs.AddMember(t.Context(), ch, alice, roomy)
			case i < 3*n/4:
				var removed bool
				if removed, _, err = f.convs.RemoveMember(t.Context(), ch, alice); err == nil && !removed {
					err = errors.New("not removed")
				}
			default:
				var moved bool
				if _, moved, _, err = f.convs.MarkRead(t.Context(), ch, alice, 1); err == nil && !moved {
					err = errors.New("not moved")
				}
			}
			if err != nil {
				t.Errorf("change #%d of %s: %v", i, ch, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	f.wantHeads(t, "after", map[domain.UserID]int64{alice: before + n, bob: n})
	log := f.userLog(t, alice, before)
	got := useqsOf(entries(t, log))
	if want := seqRange(before+1, before+n); !slices.Equal(got, want) {
		t.Fatalf("useqs of the concurrent changes = %v; want each of %v once", got, want)
	}
	if len(log.Joined) != n/2 || len(log.Departures) != n/4 || len(log.Reads) != n/4 {
		t.Fatalf("UserLog after the concurrent changes = %d joins, %d departures, %d reads; want %d, %d, %d",
			len(log.Joined), len(log.Departures), len(log.Reads), n/2, n/4, n/4)
	}
}

// testUserLogManyUsers creates groups of overlapping members, named in
// opposite orders, at once, while the same users are added to and read in
// another group: the writes lock several users' rows, which must never
// deadlock (PostgreSQL would abort one of them), and each user's head
// ends at the number of their changes.
func testUserLogManyUsers(t *testing.T, f *fixture) {
	const users, creations = 6, 12
	us := make([]domain.UserID, users)
	for i := range us {
		us[i] = f.user(fmt.Sprintf("u%d", i))
	}
	owner := f.user("owner")
	shared := f.createGroup(t, "shared", owner, us[0], us[1], us[2])
	f.appendN(t, shared.Channel(), owner, 1)
	want := map[domain.UserID]int64{us[0]: 1, us[1]: 1, us[2]: 1}

	var wg sync.WaitGroup
	for i := range creations {
		members := slices.Clone(us)
		if i%2 == 1 {
			slices.Reverse(members)
		}
		wg.Go(func() {
			g := domain.Conversation{ID: domain.ConversationID(f.newID("grp")), Kind: domain.KindGroup,
				Name: "many", MemberIDs: members}
			if _, _, err := f.convs.CreateGroup(t.Context(), g); err != nil {
				t.Errorf("CreateGroup #%d: %v", i, err)
			}
		})
	}
	for _, u := range us {
		want[u] += creations
	}
	ch := shared.Channel()
	for i, u := range us {
		wg.Go(func() {
			var err error
			if i < 3 {
				_, _, _, err = f.convs.MarkRead(t.Context(), ch, u, 1)
			} else {
				_, err = f.convs.AddMember(t.Context(), ch, u, roomy)
			}
			if err != nil {
				t.Errorf("change of %s: %v", u, err)
			}
		})
		want[u]++
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	f.wantHeads(t, "after", want)
	if head := f.userLog(t, owner, 0).Head; head != 1 {
		t.Errorf("owner's head = %d; want 1", head)
	}
}

// testJoinedSeqConcurrent adds members to a group while its owner keeps
// appending, and each new member tries to send from before the addition
// is called until a send succeeds. joined_seq must split the messages at
// the join: every message the member could send (so committed after the
// join, which the send's membership check saw) is after joined_seq, and
// joined_seq lies between the last seq before AddMember was called and
// the one after it returned: it was read at the join, under the lock the
// appends take, not from a stale snapshot.
func testJoinedSeqConcurrent(t *testing.T, f *fixture) {
	owner := f.user("owner")
	g := f.createGroup(t, "busy", owner)
	ch := g.Channel()
	const joiners, background = 4, 40

	stop := make(chan struct{})
	var owned sync.WaitGroup
	owned.Go(func() { // the owner's appends, until the joiners are done
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, err := f.msgs.Append(t.Context(), f.message(ch, owner, "bg", ""), ports.AppendOptions{}); err != nil {
				t.Errorf("owner's append: %v", err)
				return
			}
			if i >= background {
				return
			}
		}
	})

	type result struct{ lo, hi, first int64 }
	results := make([]result, joiners)
	var wg sync.WaitGroup
	for i := range joiners {
		user := f.user(fmt.Sprintf("joiner%d", i))
		wg.Go(func() {
			added := make(chan struct{})
			var probes sync.WaitGroup
			probes.Go(func() { // the first message the joiner gets in
				for {
					m, _, err := f.msgs.Append(t.Context(), f.message(ch, user, "hello", ""), ports.AppendOptions{})
					if err == nil {
						results[i].first = m.Seq
						return
					}
					if !errors.Is(err, domain.ErrNotFound) {
						t.Errorf("%s's append: %v", user, err)
						return
					}
					select {
					case <-added: // it must get in once the addition returned
						if _, _, err := f.msgs.Append(t.Context(), f.message(ch, user, "late", ""), ports.AppendOptions{}); err != nil {
							t.Errorf("%s's append after AddMember returned: %v", user, err)
						}
						return
					default:
					}
				}
			})
			results[i].lo = f.get(t, ch).LastSeq
			if err := f.addMember(t.Context(), ch, user, roomy); err != nil {
				t.Errorf("AddMember(%s): %v", user, err)
			}
			results[i].hi = f.get(t, ch).LastSeq
			close(added)
			probes.Wait()
		})
	}
	wg.Wait()
	close(stop)
	owned.Wait()
	if t.Failed() {
		return
	}
	for i, r := range results {
		user := f.user(fmt.Sprintf("joiner%d", i))
		log := f.userLog(t, user, 0)
		if len(log.Joined) != 1 || log.Joined[0].Channel != ch || log.Head != 1 {
			t.Fatalf("UserLog(%s) = %+v; want the one join of %s", user, log, ch)
		}
		j := log.Joined[0].JoinedSeq
		if j < r.lo || j > r.hi {
			t.Errorf("%s: joined_seq %d outside [%d, %d], the last seqs around AddMember", user, j, r.lo, r.hi)
		}
		if r.first != 0 && r.first <= j {
			t.Errorf("%s sent seq %d, at most joined_seq %d: a message of the member before the join", user, r.first, j)
		}
	}
}

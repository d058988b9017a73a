package repotest

import (
	"slices"
	"testing"

	"github.com/relaymsg/relay/domain"
)

func userLogTests() []contractTest {
	return []contractTest{
		{"Each change takes the next useq of exactly the users it changes", testUserLogHeads},
		{"UserLog after a useq holds exactly the changes after it", testUserLogAfter},
		{"UserLog shows a departure and the re-join after it", testUserLogRejoin},
		{"Concurrent changes of one user take gap-free, unique useqs", testUserLogConcurrent},
		{"Concurrent changes of overlapping users do not deadlock", testUserLogManyUsers},
		{"joined_seq is the last seq at the join, under concurrent appends", testJoinedSeqConcurrent},
	}
}

// wantHeads fails the test unless each user's head is as in want, by
// UserHead and by the Head of UserLog.
func (f *fixture) wantHeads(t *testing.T, step string, want map[domain.UserID]int64) {
	t.Helper()
	for user, w := range want {
		head, err := f.convs.UserHead(t.Context(), user)
		if err != nil || head != w {
			t.Fatalf("%s: UserHead(%s) = %d, %v; want %d", step, user, head, err, w)
		}
		log := f.userLog(t, user, 0)
		if log.Head != w {
			t.Fatalf("%s: UserLog(%s).Head = %d; want %d", step, user, log.Head, w)
		}
	}
}

// userLog reads user's log after the useq after and fails the test if
// that fails.
func (f *fixture) userLog(t *testing.T, user domain.UserID, after int64) domain.UserLog {
	t.Helper()
	log, err := f.convs.UserLog(t.Context(), user, after)
	if err != nil {
		t.Fatalf("UserLog(%s, %d): %v", user, after, err)
	}
	return log
}

func testUserLogHeads(t *testing.T, f *fixture) {
	alice, bob, carol, dave := f.user("alice"), f.user("bob"), f.user("carol"), f.user("dave")
	heads := map[domain.UserID]int64{alice: 0, bob: 0, carol: 0, dave: 0}
	step := func(name string, changed ...domain.UserID) {
		t.Helper()
		for _, u := range changed {
			heads[u]++
		}
		f.wantHeads(t, name, heads)
	}
	step("no changes yet")
	if log := f.userLog(t, alice, 0); len(log.Joined)+len(log.Departures)+len(log.Reads) != 0 {
		t.Fatalf("UserLog of a user without changes = %+v; want it empty", log)
	}

	dm := f.createDM(t, alice, bob)
	step("a direct message is created", alice, bob)
	if _, created, useqs, err := f.convs.CreateDirectMessage(t.Context(), newDM(f, bob, alice)); err != nil || created || useqs != nil {
		t.Fatalf("CreateDirectMessage again = created %v, useqs %v, %v; want the existing one and no useqs", created, useqs, err)
	}
	step("the same pair again")

	g := f.createGroup(t, "team", alice, carol, alice)
	step("a group is created", alice, carol)
	ch := g.Channel()
	useq, err := f.convs.AddMember(t.Context(), ch, bob, 3)
	if err != nil {
		t.Fatalf("AddMember(bob): %v", err)
	}
	step("bob is added", bob)
	f.wantUseq(t, "AddMember(bob)", bob, useq)
	if useq, err := f.convs.AddMember(t.Context(), ch, bob, 3); err != nil || useq != 0 {
		t.Fatalf("AddMember(bob) again = useq %d, %v; want 0, nil", useq, err)
	}
	step("bob is added again")
	useq, err = f.convs.AddMember(t.Context(), ch, dave, 3)
	wantErr(t, "AddMember(dave) to a full group", err, domain.ErrGroupFull)
	step("dave finds the group full")
	useq2, err := f.convs.AddMember(t.Context(), dm.Channel(), dave, roomy)
	wantErr(t, "AddMember(dave) to a DM", err, domain.ErrNotFound)
	step("dave is not added to a direct message")
	if useq != 0 || useq2 != 0 {
		t.Fatalf("AddMember that failed returned useqs %d and %d; want 0", useq, useq2)
	}

	f.appendN(t, ch, carol, 3)
	step("messages are appended")
	f.markRead(t, ch, bob, 2, 2, true)
	step("bob reads", bob)
	f.markRead(t, ch, bob, 2, 2, false)
	f.markRead(t, ch, bob, 1, 2, false)
	step("bob marks what he has read")
	f.markRead(t, ch, bob, 1<<62, 3, true)
	step("bob reads to the end", bob)
	f.markRead(t, ch, bob, 1<<62, 3, false)
	step("bob is at the end")
	_, _, useq, err = f.convs.MarkRead(t.Context(), ch, dave, 1)
	wantErr(t, "MarkRead(dave)", err, domain.ErrNotFound)
	step("dave is no member")
	if useq != 0 {
		t.Fatalf("MarkRead(dave) that failed returned useq %d; want 0", useq)
	}

	removed, useq, err := f.convs.RemoveMember(t.Context(), ch, carol)
	if err != nil || !removed {
		t.Fatalf("RemoveMember(carol) = %v, %v; want true", removed, err)
	}
	step("carol is removed", carol)
	f.wantUseq(t, "RemoveMember(carol)", carol, useq)
	if removed, useq, err := f.convs.RemoveMember(t.Context(), ch, carol); err != nil || removed || useq != 0 {
		t.Fatalf("RemoveMember(carol) again = %v, useq %d, %v; want false, 0", removed, useq, err)
	}
	step("carol is removed again")
	if removed, useq, err := f.convs.RemoveMember(t.Context(), dm.Channel(), alice); err != nil || removed || useq != 0 {
		t.Fatalf("RemoveMember from a DM = %v, useq %d, %v; want false, 0", removed, useq, err)
	}
	step("no one leaves a direct message")
}

// add adds user to the group ch and fails the test if that fails, or
// if the useq it returns is not user's head.
func (f *fixture) add(t *testing.T, ch domain.ChannelID, user domain.UserID) {
	t.Helper()
	useq, err := f.convs.AddMember(t.Context(), ch, user, roomy)
	if err != nil {
		t.Fatalf("AddMember(%s, %s): %v", ch, user, err)
	}
	f.wantUseq(t, "AddMember", user, useq)
}

// remove removes the member user from the group ch and fails the test
// unless that removes them and returns user's head as its useq.
func (f *fixture) remove(t *testing.T, ch domain.ChannelID, user domain.UserID) {
	t.Helper()
	removed, useq, err := f.convs.RemoveMember(t.Context(), ch, user)
	if err != nil || !removed {
		t.Fatalf("RemoveMember(%s, %s) = %v, %v; want removed", ch, user, removed, err)
	}
	f.wantUseq(t, "RemoveMember", user, useq)
}

// logEntry is one change of a user's log, as a test expects it.
type logEntry struct {
	what    string // "join", "left", "read"
	channel domain.ChannelID
	number  int64
	useq    int64
	seq     int64 // joined seq or read seq
}

// entries flattens log into its changes in useq order, checking that
// each part is in useq order.
func entries(t *testing.T, log domain.UserLog) []logEntry {
	t.Helper()
	var out []logEntry
	for _, j := range log.Joined {
		out = append(out, logEntry{"join", j.Channel, j.Number, j.USeq, j.JoinedSeq})
	}
	for _, d := range log.Departures {
		out = append(out, logEntry{"left", d.Channel, d.Number, d.USeq, 0})
	}
	for _, r := range log.Reads {
		out = append(out, logEntry{"read", r.Channel, r.Number, r.USeq, r.ReadSeq})
	}
	for _, part := range [][]int64{useqsOf(out[:len(log.Joined)]),
		useqsOf(out[len(log.Joined) : len(log.Joined)+len(log.Departures)]),
		useqsOf(out[len(log.Joined)+len(log.Departures):])} {
		if !slices.IsSorted(part) {
			t.Fatalf("UserLog parts not in useq order: %+v", log)
		}
	}
	slices.SortFunc(out, func(a, b logEntry) int { return int(a.useq - b.useq) })
	return out
}

func useqsOf(es []logEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.useq
	}
	return out
}

// wantLog fails the test unless user's log after each useq from 0 to
// the head holds exactly the entries of want (the live changes, in useq
// order) after it.
func (f *fixture) wantLog(t *testing.T, user domain.UserID, head int64, want []logEntry) {
	t.Helper()
	for after := int64(0); after <= head+1; after++ {
		log := f.userLog(t, user, after)
		if log.Head != head {
			t.Fatalf("UserLog(%s, %d).Head = %d; want %d", user, after, log.Head, head)
		}
		var w []logEntry
		for _, e := range want {
			if e.useq > after {
				w = append(w, e)
			}
		}
		if got := entries(t, log); !slices.Equal(got, w) {
			t.Fatalf("UserLog(%s, %d):\n got  %+v\n want %+v", user, after, got, w)
		}
	}
}

func testUserLogAfter(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	dm := f.createDM(t, alice, bob)           // alice 1: join dm
	g1 := f.createGroup(t, "one", alice, bob) // 2: join g1
	f.appendN(t, g1.Channel(), bob, 3)
	f.markRead(t, g1.Channel(), alice, 2, 2, true) // 3: read g1 2
	g2 := f.createGroup(t, "two", bob)
	f.appendN(t, g2.Channel(), bob, 2)
	f.add(t, g2.Channel(), alice) // 4: join g2 at 2
	f.appendN(t, dm.Channel(), bob, 1)
	f.markRead(t, dm.Channel(), alice, 1, 1, true) // 5: read dm 1
	f.markRead(t, g2.Channel(), alice, 1, 1, true) // 6: read g2 1
	f.markRead(t, g2.Channel(), alice, 2, 2, true) // 7: read g2 2, replacing 6
	f.wantLog(t, alice, 7, []logEntry{
		{"join", dm.Channel(), dm.Number, 1, 0},
		{"join", g1.Channel(), g1.Number, 2, 0},
		{"read", g1.Channel(), g1.Number, 3, 2},
		{"join", g2.Channel(), g2.Number, 4, 2},
		{"read", dm.Channel(), dm.Number, 5, 1},
		{"read", g2.Channel(), g2.Number, 7, 2},
	})
	f.wantLog(t, bob, 3, []logEntry{
		{"join", dm.Channel(), dm.Number, 1, 0},
		{"join", g1.Channel(), g1.Number, 2, 0},
		{"join", g2.Channel(), g2.Number, 3, 0},
	})
}

func testUserLogRejoin(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	g := f.createGroup(t, "team", alice, bob) // alice 1
	ch := g.Channel()
	f.appendN(t, ch, bob, 2)
	f.markRead(t, ch, alice, 2, 2, true) // 2
	f.remove(t, ch, alice)               // 3
	// Gone: the join and the read position of the membership that ended.
	f.wantLog(t, alice, 3, []logEntry{{"left", ch, g.Number, 3, 0}})
	f.appendN(t, ch, bob, 3)
	f.add(t, ch, alice) // 4: join at 5
	f.wantLog(t, alice, 4, []logEntry{{"left", ch, g.Number, 3, 0}, {"join", ch, g.Number, 4, 5}})
	if v := f.view(t, alice, g.ID); v.ReadSeq != 0 {
		t.Errorf("ReadSeq after the re-join = %d; want 0", v.ReadSeq)
	}
	f.markRead(t, ch, alice, 4, 4, true) // 5
	f.remove(t, ch, alice)               // 6
	f.wantLog(t, alice, 6, []logEntry{{"left", ch, g.Number, 3, 0}, {"left", ch, g.Number, 6, 0}})
}

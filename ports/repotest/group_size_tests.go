package repotest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/relaymsg/relay/domain"
)

func groupSizeTests() []contractTest {
	return []contractTest{
		{"AddMember refuses a new member of a full group", testAddMemberFull},
		{"AddMember never overfills a group under concurrent additions", testAddMemberFullConcurrent},
	}
}

func testAddMemberFull(t *testing.T, f *fixture) {
	alice, bob, carol, dave := f.user("alice"), f.user("bob"), f.user("carol"), f.user("dave")
	g := f.createGroup(t, "team", alice, bob)
	const maxMembers = 3
	steps := []struct {
		name    string
		do      func() error
		wantErr error
		members int
	}{
		{"carol takes the last place", func() error { return f.addMember(t.Context(), g.Channel(), carol, maxMembers) }, nil, 3},
		{"dave finds the group full", func() error { return f.addMember(t.Context(), g.Channel(), dave, maxMembers) }, domain.ErrGroupFull, 3},
		// Adding a member again changes nothing, so a full group allows it.
		{"bob again", func() error { return f.addMember(t.Context(), g.Channel(), bob, maxMembers) }, nil, 3},
		{"carol leaves", func() error { _, _, err := f.convs.RemoveMember(t.Context(), g.Channel(), carol); return err }, nil, 2},
		{"dave takes her place", func() error { return f.addMember(t.Context(), g.Channel(), dave, maxMembers) }, nil, 3},
		{"carol finds it full", func() error { return f.addMember(t.Context(), g.Channel(), carol, maxMembers) }, domain.ErrGroupFull, 3},
	}
	for _, step := range steps {
		err := step.do()
		if step.wantErr == nil && err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if step.wantErr != nil {
			wantErr(t, step.name, err, step.wantErr)
		}
		if n := len(f.get(t, g.Channel()).MemberIDs); n != step.members {
			t.Fatalf("after %q: %d members; want %d", step.name, n, step.members)
		}
	}
	if ok, err := f.convs.IsMember(t.Context(), g.Channel(), carol); err != nil || ok {
		t.Fatalf("IsMember(carol) after a refused AddMember = %v, %v; want false", ok, err)
	}
	// A missing group is still not found, not full.
	missing := domain.GroupChannel("grp_missing_" + domain.ConversationID(f.suffix))
	wantErr(t, "AddMember(missing group)", f.addMember(t.Context(), missing, dave, 1), domain.ErrNotFound)
}

func testAddMemberFullConcurrent(t *testing.T, f *fixture) {
	const (
		adders     = 20
		free       = 5
		maxMembers = 1 + free // alice, then five more
	)
	g := f.createGroup(t, "popular", f.user("alice"))
	errs := make([]error, adders)
	var wg sync.WaitGroup
	for i := range adders {
		wg.Go(func() {
			errs[i] = f.addMember(t.Context(), g.Channel(), f.user(fmt.Sprintf("joiner%02d", i)), maxMembers)
		})
	}
	wg.Wait()
	added := 0
	for i, err := range errs {
		switch {
		case err == nil:
			added++
		default:
			wantErr(t, fmt.Sprintf("AddMember #%d", i), err, domain.ErrGroupFull)
		}
	}
	if added != free {
		t.Fatalf("%d of %d concurrent additions succeeded; want exactly %d", added, adders, free)
	}
	if n := len(f.get(t, g.Channel()).MemberIDs); n != maxMembers {
		t.Fatalf("the group has %d members; want %d", n, maxMembers)
	}
}

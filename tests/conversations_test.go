package tests

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// wantTime fails t unless s is an RFC 3339 time in UTC.
func wantTime(t testing.TB, what, s string) {
	t.Helper()
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil || !strings.HasSuffix(s, "Z") {
		t.Fatalf("%s %q is not an RFC 3339 time in UTC", what, s)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestDirectMessages(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")

	r := a.do(t, http.MethodPost, "/api/dms", alice.token, map[string]any{"memberIds": []string{"u_alice", "u_bob"}})
	var dm conversation
	expect(t, r, http.StatusCreated, &dm)
	if !strings.HasPrefix(dm.ID, "dm_") || !slices.Equal(sorted(dm.MemberIDs), []string{"u_alice", "u_bob"}) {
		t.Fatalf("POST /api/dms = %s", r)
	}
	wantTime(t, "createdAt", dm.CreatedAt)

	// The same pair in the other order, by either member, is the same DM.
	for _, caller := range []user{alice, bob} {
		var again conversation
		expect(t, a.do(t, http.MethodPost, "/api/dms", caller.token, map[string]any{"memberIds": []string{"u_bob", "u_alice"}}),
			http.StatusOK, &again)
		if again.ID != dm.ID {
			t.Fatalf("the pair again (by %s) gave %s, want the existing %s", caller.id, again.ID, dm.ID)
		}
	}

	for name, members := range map[string][]string{
		"caller not in the pair": {"u_bob", "u_carol"},
		"one member":             {"u_alice"},
		"three members":          {"u_alice", "u_bob", "u_carol"},
		"the same member twice":  {"u_alice", "u_alice"},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, a.do(t, http.MethodPost, "/api/dms", alice.token, map[string]any{"memberIds": members}), http.StatusBadRequest, "")
		})
	}
	wantError(t, a.do(t, http.MethodPost, "/api/dms", alice.token, map[string]any{}), http.StatusBadRequest, "")
	if n := len(a.conversations(t, alice)); n != 1 {
		t.Fatalf("alice has %d conversations after the refused ones, want 1", n)
	}
}

func TestGroupsAndMembers(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice, bob, carol := newUser(t, "u_alice"), newUser(t, "u_bob"), newUser(t, "u_carol")

	r := a.do(t, http.MethodPost, "/api/groups", alice.token, map[string]any{"name": "Team", "memberIds": []string{"u_bob"}})
	var g conversation
	expect(t, r, http.StatusCreated, &g)
	if !strings.HasPrefix(g.ID, "grp_") || g.Name == nil || *g.Name != "Team" {
		t.Fatalf("POST /api/groups = %s", r)
	}
	if !slices.Equal(sorted(g.MemberIDs), []string{"u_alice", "u_bob"}) {
		t.Fatalf("members %v: the caller must be added to the named ones", g.MemberIDs)
	}
	wantTime(t, "createdAt", g.CreatedAt)
	wantError(t, a.do(t, http.MethodPost, "/api/groups", alice.token, map[string]any{"name": "  "}), http.StatusBadRequest, "")

	// carol is not a member: she cannot read the group until she is added.
	path := "/api/messages?groupId=" + g.ID
	wantError(t, a.do(t, http.MethodGet, path, carol.token, nil), http.StatusNotFound, "")
	a.addMember(t, bob, g, "u_carol")
	expect(t, a.do(t, http.MethodGet, path, carol.token, nil), http.StatusOK, nil)
	if got := sorted(find(t, a.conversations(t, carol), g.ID).MemberIDs); !slices.Equal(got, []string{"u_alice", "u_bob", "u_carol"}) {
		t.Fatalf("members after adding carol: %v", got)
	}

	a.removeMember(t, alice, g, "u_bob")
	wantError(t, a.do(t, http.MethodGet, path, bob.token, nil), http.StatusNotFound, "")
	for _, c := range a.conversations(t, bob) {
		if c.ID == g.ID {
			t.Fatalf("bob still lists %s after his removal", g.ID)
		}
	}

	// To a non-member (bob now), the group answers exactly like one that
	// does not exist.
	missing := strings.Repeat("x", 8)
	for _, tc := range []struct{ method, path, missingPath string }{
		{http.MethodPost, "/api/groups/" + g.ID + "/members", "/api/groups/grp_" + missing + "/members"},
		{http.MethodDelete, "/api/groups/" + g.ID + "/members/u_carol", "/api/groups/grp_" + missing + "/members/u_carol"},
	} {
		body := map[string]any{"userId": "u_bob"}
		if tc.method == http.MethodDelete {
			body = nil
		}
		got := a.do(t, tc.method, tc.path, bob.token, body)
		wantError(t, got, http.StatusNotFound, "")
		absent := a.do(t, tc.method, tc.missingPath, bob.token, body)
		wantError(t, absent, http.StatusNotFound, "")
		if !bytes.Equal(got.body, absent.body) {
			t.Fatalf("%s by a non-member answers %s, a missing group %s: they must not differ", tc.method, got, absent)
		}
	}
	// And nothing changed: bob did not re-add himself, carol is still in.
	if got := sorted(find(t, a.conversations(t, alice), g.ID).MemberIDs); !slices.Equal(got, []string{"u_alice", "u_carol"}) {
		t.Fatalf("members after the refused calls: %v", got)
	}
}

func TestListConversations(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")
	g := a.createGroup(t, alice, "Team", "u_carol")
	a.createGroup(t, newUser(t, "u_dave"), "Not alice's")
	a.send(t, alice, g, "one")
	a.send(t, alice, g, "two")

	r := a.do(t, http.MethodGet, "/api/conversations", alice.token, nil)
	var raw []map[string]json.RawMessage
	expect(t, r, http.StatusOK, &raw)
	if len(raw) != 2 {
		t.Fatalf("alice's conversations: %s, want her DM and her group", r)
	}
	for _, c := range raw {
		for _, k := range []string{"id", "kind", "memberIds", "createdAt", "lastSeq"} {
			if _, ok := c[k]; !ok {
				t.Fatalf("conversation %s lacks %q", r, k)
			}
		}
	}
	var list []conversation
	expect(t, r, http.StatusOK, &list)

	gotDM, gotGroup := find(t, list, dm.ID), find(t, list, g.ID)
	if gotDM.Kind != "dm" || gotDM.Name != nil || gotDM.LastSeq != 0 || len(gotDM.MemberIDs) != 2 {
		t.Fatalf("the DM is listed as %+v: want kind dm, no name, lastSeq 0", gotDM)
	}
	if gotGroup.Kind != "group" || gotGroup.Name == nil || *gotGroup.Name != "Team" || gotGroup.LastSeq != 2 {
		t.Fatalf("the group is listed as %+v: want kind group, name Team, lastSeq 2", gotGroup)
	}
	wantTime(t, "createdAt", gotGroup.CreatedAt)
}

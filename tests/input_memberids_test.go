package tests

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestMemberIDsOfEveryCharacterClass adds and removes members whose ids
// hold the characters that mean something in a URL path: the path segment
// is routed encoded and decoded once, so that every valid user id can be
// removed, and is then really gone.
func TestMemberIDsOfEveryCharacterClass(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, a *testApp) {
		alice := newUser(t, "u_alice")
		g := a.createGroup(t, alice, "Team")
		tests := []struct {
			name, id, segment string // segment: the id in the path ("": url.PathEscape(id))
		}{
			{"slash", "a/b", ""},
			{"slash only", "/", ""},
			{"two slashes", "//", ""},
			{"dot", ".", ""},
			{"dot encoded", ".", "%2E"},
			{"dot dot", "..", ""},
			{"dot dot encoded", "..", "%2e%2E"},
			{"dot segments inside", "a/../b", ""},
			{"literal percent-encoded slash", "a%2Fb", ""},
			{"lone percent", "%", ""},
			{"bad escape, literally", "%zz", ""},
			{"question mark", "a?b", ""},
			{"hash", "a#b", ""},
			{"plus", "a+b", ""},
			{"sub-delims", "!$&'()*,;=:@", ""},
			{"the rest of printable ASCII", "\"<>[\\]^`{|}~-_", ""},
			{"128 characters", strings.Repeat("/", 128), ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				segment := tt.segment
				if segment == "" {
					segment = url.PathEscape(tt.id)
				}
				a.addMember(t, alice, g, tt.id)
				if members := find(t, a.conversations(t, alice), g.ID).MemberIDs; !slices.Contains(members, tt.id) {
					t.Fatalf("members %q after adding %q", members, tt.id)
				}
				path := "/api/groups/" + g.ID + "/members/" + segment
				expect(t, a.do(t, http.MethodDelete, path, alice.token, nil), http.StatusNoContent, nil)
				if members := find(t, a.conversations(t, alice), g.ID).MemberIDs; slices.Contains(members, tt.id) {
					t.Fatalf("DELETE %s answered 204 but %q is still a member: %q", path, tt.id, members)
				}
			})
		}

		// A space is not in a user id (ValidateUserID): refused both ways,
		// and the group's path still routes when it is encoded.
		t.Run("space", func(t *testing.T) {
			wantError(t, a.do(t, http.MethodPost, "/api/groups/"+g.ID+"/members", alice.token, map[string]any{"userId": "a b"}),
				http.StatusBadRequest, "validation_failed")
			wantError(t, a.do(t, http.MethodDelete, "/api/groups/"+g.ID+"/members/a%20b", alice.token, nil),
				http.StatusBadRequest, "validation_failed")
		})
		if members := find(t, a.conversations(t, alice), g.ID).MemberIDs; !slices.Equal(members, []string{"u_alice"}) {
			t.Fatalf("members at the end: %q, want only u_alice", members)
		}
	})
}

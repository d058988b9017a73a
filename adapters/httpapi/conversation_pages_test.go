package httpapi_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/relaymsg/relay/application"
)

var nextLink = regexp.MustCompile(`^<(/api/conversations\?limit=(\d+)&after=([A-Za-z0-9_-]+))>; rel="next"$`)

// TestListConversationsPages follows the Link header page by page: every
// conversation once, newest first, and neither header on the last page.
func TestListConversationsPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.token("u_alice")
	var want []string
	for i := range 5 {
		id := fmt.Sprintf("grp_%d", i)
		e.seedGroup(id, "u_alice")
		want = append([]string{id}, want...) // newest first
	}
	e.seedGroup("grp_not_alices", "u_bob")

	var got []string
	var sizes []int
	path := "/api/conversations?limit=2"
	for path != "" {
		r := e.do(http.MethodGet, path, alice, nil)
		r.expect(t, http.StatusOK, "")
		var page []struct{ ID string }
		r.decode(t, &page)
		sizes = append(sizes, len(page))
		for _, c := range page {
			got = append(got, c.ID)
		}
		path = ""
		link, cursor := r.header.Get("Link"), r.header.Get("X-Next-Cursor")
		if link == "" && cursor == "" {
			break
		}
		m := nextLink.FindStringSubmatch(link)
		if m == nil || m[2] != "2" || m[3] != cursor {
			t.Fatalf("Link = %q, X-Next-Cursor = %q; want a next link with limit=2 and the cursor", link, cursor)
		}
		path = m[1]
		if len(sizes) > 10 {
			t.Fatal("pages never end")
		}
	}
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{2, 2, 1}) {
		t.Fatalf("pages = %v (sizes %v); want %v in pages of 2, 2, 1", got, sizes, want)
	}

	// Without a limit, the default page holds all five and links nowhere.
	r := e.do(http.MethodGet, "/api/conversations", alice, nil)
	r.expect(t, http.StatusOK, "")
	if r.header.Get("Link") != "" || r.header.Get("X-Next-Cursor") != "" {
		t.Fatalf("last page links on: Link %q, X-Next-Cursor %q", r.header.Get("Link"), r.header.Get("X-Next-Cursor"))
	}
}

func TestListConversationsBadPageParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.token("u_alice")
	e.seedGroup("grp_a", "u_alice")
	e.seedGroup("grp_b", "u_alice")
	cursor := e.do(http.MethodGet, "/api/conversations?limit=1", alice, nil).header.Get("X-Next-Cursor")
	if cursor == "" {
		t.Fatal("no X-Next-Cursor on a first page of 1 of 2")
	}
	tests := []struct {
		query string
		code  string
	}{
		{"limit=0", "validation_failed"},
		{"limit=501", "validation_failed"},
		{"limit=-1", "validation_failed"},
		{"limit=ten", "validation_failed"},
		{"limit=1.5", "validation_failed"},
		{"limit=", "validation_failed"},
		{"limit=1&limit=2", "validation_failed"},
		{"after=", "invalid_cursor"},
		{"after=not-a-cursor", "invalid_cursor"},
		{"after=" + cursor + "x", "invalid_cursor"},
		{"after=" + strings.Repeat("A", 100), "invalid_cursor"},
		{"after=" + cursor + "&after=" + cursor, "validation_failed"},
	}
	for _, tt := range tests {
		e.do(http.MethodGet, "/api/conversations?"+tt.query, alice, nil).expect(t, http.StatusBadRequest, tt.code)
	}
	for _, ok := range []string{"limit=1", "limit=500", "after=" + cursor, "limit=500&after=" + cursor} {
		e.do(http.MethodGet, "/api/conversations?"+ok, alice, nil).expect(t, http.StatusOK, "")
	}
}

func TestGroupSizeLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *envOptions) { o.groups = application.GroupLimits{MaxMembers: 3} })
	alice := e.token("u_alice")

	e.do(http.MethodPost, "/api/groups", alice, `{"name":"big","memberIds":["u_bob","u_carol","u_dave"]}`).
		expect(t, http.StatusBadRequest, "validation_failed")
	// Duplicates and the caller named again do not count twice.
	r := e.do(http.MethodPost, "/api/groups", alice, `{"name":"team","memberIds":["u_bob","u_alice","u_bob"]}`)
	r.expect(t, http.StatusCreated, "")
	var g struct{ ID string }
	r.decode(t, &g)

	members := "/api/groups/" + g.ID + "/members"
	e.do(http.MethodPost, members, alice, `{"userId":"u_carol"}`).expect(t, http.StatusNoContent, "")
	e.do(http.MethodPost, members, alice, `{"userId":"u_dave"}`).expect(t, http.StatusConflict, "group_full")
	// Adding a member again stays a success, even to a full group.
	e.do(http.MethodPost, members, alice, `{"userId":"u_bob"}`).expect(t, http.StatusNoContent, "")
	e.do(http.MethodDelete, members+"/u_carol", alice, nil).expect(t, http.StatusNoContent, "")
	e.do(http.MethodPost, members, alice, `{"userId":"u_dave"}`).expect(t, http.StatusNoContent, "")
}

package tests

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/relaymsg/relay/cmd/relay/app"
)

var nextLinkRE = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// conversationPage is one answer of GET /api/conversations: the items and
// the next page's path ("" on the last page).
func (c *api) conversationPage(t testing.TB, u user, path string) ([]conversation, string) {
	t.Helper()
	r := c.do(t, http.MethodGet, path, u.token, nil)
	var list []conversation
	expect(t, r, http.StatusOK, &list)
	link, cursor := r.header.Get("Link"), r.header.Get("X-Next-Cursor")
	if link == "" && cursor == "" {
		return list, ""
	}
	m := nextLinkRE.FindStringSubmatch(link)
	if m == nil {
		t.Fatalf("Link = %q; want <…>; rel=\"next\"", link)
	}
	// RFC 8288: the target is a URI reference, resolved against the
	// request's URL.
	base, err := url.Parse(c.url + path)
	if err != nil {
		t.Fatal(err)
	}
	next, err := base.Parse(m[1])
	if err != nil {
		t.Fatalf("Link target %q: %v", m[1], err)
	}
	if got := next.Query().Get("after"); got != cursor || cursor == "" {
		t.Fatalf("Link after=%q, X-Next-Cursor %q: want the same cursor", got, cursor)
	}
	return list, next.RequestURI()
}

func conversationIDs(list []conversation) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.ID
	}
	return out
}

// TestConversationPages follows the next links of a member's list over
// HTTP, on PostgreSQL and on SQLite: every conversation once, newest
// first, in pages of the limit asked, even though a conversation is
// created between two reads.
func TestConversationPages(t *testing.T) {
	t.Parallel()
	for name, start := range map[string]func(*testing.T) *testApp{
		"postgres": func(t *testing.T) *testApp { return startApp(t) },
		"sqlite":   startSQLiteApp,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testConversationPages(t, start(t))
		})
	}
}

func testConversationPages(t *testing.T, a *testApp) {
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	var want []string // newest first
	for i := range 7 {
		var c conversation
		if i == 3 {
			c = a.createDM(t, bob, alice.id)
		} else {
			c = a.createGroup(t, bob, fmt.Sprintf("g%d", i), alice.id)
		}
		want = append([]string{c.ID}, want...)
	}
	a.createGroup(t, bob, "bob alone")

	page, next := a.conversationPage(t, alice, "/api/conversations?limit=3")
	got, sizes := conversationIDs(page), []int{len(page)}
	// Someone adds alice to a new group meanwhile: it sorts first, so it
	// neither pushes an item of page 1 onto page 2 nor shows up later.
	fresh := a.createGroup(t, bob, "meanwhile", alice.id)
	for next != "" {
		if len(sizes) > 10 {
			t.Fatal("pages never end")
		}
		page, next = a.conversationPage(t, alice, next)
		got, sizes = append(got, conversationIDs(page)...), append(sizes, len(page))
	}
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Fatalf("pages = %v (sizes %v); want %v in pages of 3, 3, 1", got, sizes, want)
	}

	all, next := a.conversationPage(t, alice, "/api/conversations")
	if next != "" || len(all) != 8 || all[0].ID != fresh.ID {
		t.Fatalf("default page = %v, next %q; want all 8, %s first, and no next page", conversationIDs(all), next, fresh.ID)
	}

	wantError(t, a.do(t, http.MethodGet, "/api/conversations?after=bm90LWEtY3Vyc29y", alice.token, nil),
		http.StatusBadRequest, "invalid_cursor")
	for _, q := range []string{"limit=0", "limit=501", "limit=many"} {
		wantError(t, a.do(t, http.MethodGet, "/api/conversations?"+q, alice.token, nil), http.StatusBadRequest, "validation_failed")
	}
}

// TestGroupSizeBound runs the service with MAX_GROUP_MEMBERS=6: creation
// beyond it is refused, and of 20 concurrent additions to a group with 5
// free places exactly 5 succeed and the others are 409 group_full.
func TestGroupSizeBound(t *testing.T) {
	t.Parallel()
	a := startApp(t, func(c *app.Config) { c.MaxGroupMembers = 6 })
	alice := newUser(t, "u_alice")

	wantError(t, a.do(t, http.MethodPost, "/api/groups", alice.token, map[string]any{
		"name": "too big", "memberIds": []string{"u_1", "u_2", "u_3", "u_4", "u_5", "u_6"},
	}), http.StatusBadRequest, "validation_failed")

	g := a.createGroup(t, alice, "popular")
	const adders = 20
	statuses := make([]response, adders)
	var wg sync.WaitGroup
	for i := range adders {
		wg.Go(func() {
			r, err := a.request(http.MethodPost, "/api/groups/"+g.ID+"/members", alice.token,
				map[string]any{"userId": fmt.Sprintf("u_joiner%02d", i)})
			if err != nil {
				r.status = -1
			}
			statuses[i] = r
		})
	}
	wg.Wait()
	added := 0
	for _, r := range statuses {
		switch r.status {
		case http.StatusNoContent:
			added++
		default:
			wantError(t, r, http.StatusConflict, "group_full")
		}
	}
	if added != 5 {
		t.Fatalf("%d of %d concurrent additions succeeded; want 5", added, adders)
	}
	members := find(t, a.conversations(t, alice), g.ID).MemberIDs
	if len(members) != 6 {
		t.Fatalf("the group has %d members; want 6", len(members))
	}
	// Adding a member again changes nothing and still succeeds.
	a.addMember(t, alice, g, members[len(members)-1])
	a.addMember(t, alice, g, alice.id)
}

package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/relaymsg/relay/cmd/relay/app"
)

// TestBrowserDemoPage drives the demo page at / in Chromium: two users in
// separate browser contexts sign in with development tokens, open a DM and
// chat live; then every connection is cut while messages are sent, and
// after the browser's own EventSource reconnect (with Last-Event-ID) both
// pages show what they missed, each message once and in seq order.
func TestBrowserDemoPage(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	a := startApp(t, func(c *app.Config) {
		c.Dev = true
		// The browser waits this long before it reconnects.
		c.SSERetry = 200 * time.Millisecond
	})
	proxy := newCutProxy(t, strings.TrimPrefix(a.url, "http://"))

	alice := newPage(t, browser, "alice", proxy.url()+"/", 1000, 640)
	bob := newPage(t, browser, "bob", proxy.url()+"/", 360, 640) // a phone
	alice.signIn("u_alice")
	bob.signIn("u_bob")

	alice.do("open a DM with u_bob",
		chromedp.SendKeys(chromedp.ID("dm-user"), "u_bob"), chromedp.Click(chromedp.ID("dm-open")))
	waitUntil(alice, "the DM's title", `document.getElementById('chat-title').textContent`, "u_bob")
	waitUntil(alice, "a live stream", connStateJS, "live")
	dmID := eval[string](alice, `document.querySelector('[data-testid=conversation][aria-current=true]').dataset.id`)
	if !strings.HasPrefix(dmID, "dm_") {
		t.Fatalf("alice's open conversation is %q, want a DM", dmID)
	}

	// Bob finds the DM alice started in his list.
	bob.do("refresh the list", chromedp.Click(chromedp.ID("refresh")))
	bob.openConversation(dmID)
	waitUntil(bob, "a live stream", connStateJS, "live")

	const (
		hello = "Hi Bob, it's Alice."
		reply = "Hello Alice! <b>not bold</b> & <script>alert(1)</script>"
	)
	alice.send(hello)
	bob.waitMessages(hello)
	bob.send(reply)
	alice.waitMessages(hello, reply)
	bob.waitMessages(hello, reply)
	// Content is text, never markup.
	if n := eval[int](alice, `document.querySelectorAll('#chat b, #chat script').length`); n != 0 {
		t.Fatalf("alice's chat has %d elements made from message content", n)
	}

	// Every connection drops; while the pages cannot reconnect, alice
	// posts through the API directly.
	opens := []int{alice.opens(), bob.opens()}
	proxy.cut()
	waitUntil(alice, "the stream to drop", connStateJS, "reconnecting")
	waitUntil(bob, "the stream to drop", connStateJS, "reconnecting")
	dm := conversation{ID: dmID}
	away := []string{"sent while you were away 1", "sent while you were away 2", "sent while you were away 3"}
	for _, text := range away {
		a.send(t, newUser(t, "u_alice"), dm, text)
	}
	proxy.restore()

	for i, p := range []*page{alice, bob} {
		waitUntil(p, "the stream to come back", connStateJS, "live")
		if got := p.opens(); got <= opens[i] {
			t.Fatalf("%s's stream was opened %d times, want more than %d: it did not reconnect", p.name, got, opens[i])
		}
		p.waitMessages(slices.Concat([]string{hello, reply}, away)...)
	}
	// One more live message: whatever the resumed stream replayed arrived
	// before it, so nothing can still turn up twice.
	const back = "Back online, got all three."
	bob.send(back)
	all := slices.Concat([]string{hello, reply}, away, []string{back})
	alice.waitMessages(all...)
	bob.waitMessages(all...)

	alice.screenshot("browser-demo-alice.png")
	bob.screenshot("browser-demo-bob.png")
}

// signIn picks the user name id on the sign-in form (the page gets a
// development token) and waits for the signed-in view.
func (p *page) signIn(id string) {
	p.t.Helper()
	p.do("sign in as "+id,
		chromedp.WaitVisible(chromedp.ID("login-name")),
		chromedp.SendKeys(chromedp.ID("login-name"), id),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("dm-user")))
	waitUntil(p, "the signed-in user", `document.getElementById('me').textContent`, id)
}

// send types text into the open conversation and sends it.
func (p *page) send(text string) {
	p.t.Helper()
	p.do("send "+text, chromedp.SendKeys(chromedp.ID("message-input"), text), chromedp.Click(chromedp.ID("send")))
}

// TestBrowserDemoPageWithoutDevMode: outside development mode /dev/token
// is a 404, so the page asks for a token instead, and works with a pasted
// one; a group made on the page gets a live stream.
func TestBrowserDemoPageWithoutDevMode(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	a := startApp(t)
	carol := newPage(t, browser, "carol", a.url+"/", 800, 600)
	carol.do("ask for a development token",
		chromedp.WaitVisible(chromedp.ID("login-name")),
		chromedp.SendKeys(chromedp.ID("login-name"), "u_carol"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("login-token")))
	carol.do("paste a token",
		chromedp.SetValue(chromedp.ID("login-token"), newUser(t, "u_carol").token),
		chromedp.Click(chromedp.ID("login-submit")))
	waitUntil(carol, "the signed-in user", `document.getElementById('me').textContent`, "u_carol")

	carol.do("create a group",
		chromedp.SendKeys(chromedp.ID("group-name"), "Team"),
		chromedp.SendKeys(chromedp.ID("group-members"), "u_dave, u_erin"),
		chromedp.Click(chromedp.ID("group-create")))
	waitUntil(carol, "the group's title", `document.getElementById('chat-title').textContent`, "Team")
	waitUntil(carol, "a live stream", connStateJS, "live")
	carol.send("Welcome to the team.")
	carol.waitMessages("Welcome to the team.")
	groups := a.conversations(t, newUser(t, "u_dave"))
	if len(groups) != 1 || groups[0].Kind != "group" || len(groups[0].MemberIDs) != 3 {
		t.Fatalf("u_dave's conversations are %+v, want the group of three", groups)
	}
}

// TestBrowserDemoPageListsEveryPage: a user in more conversations than the
// default page of GET /api/conversations holds (100) still finds every one
// in the page's list, which follows the next links to the last page.
func TestBrowserDemoPageListsEveryPage(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	a := startApp(t, func(c *app.Config) { c.Dev = true })
	bob := newUser(t, "u_bob")
	const groups = 105
	for i := range groups {
		a.createGroup(t, bob, fmt.Sprintf("g%03d", i), "u_alice")
	}
	alice := newPage(t, browser, "alice", a.url+"/", 1000, 640)
	alice.signIn("u_alice")
	waitUntil(alice, "every conversation listed", `document.querySelectorAll('[data-testid=conversation]').length`, groups)
	// The oldest one, on the second page, is there too.
	if got := eval[string](alice, `[...document.querySelectorAll('[data-testid=conversation] .title')].at(-1).textContent`); got != "g000" {
		t.Fatalf("the last conversation listed is %q, want the oldest, g000", got)
	}
}

// TestBrowserInboxLiveListAndBadges: the page keeps one stream, the
// inbox. A group alice puts bob in appears in bob's list without a
// refresh, its unread badge counts alice's messages, and opening it clears
// the badge and stores bob's read position.
func TestBrowserInboxLiveListAndBadges(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	a := startApp(t, func(c *app.Config) { c.Dev = true })
	bob := newPage(t, browser, "bob", a.url+"/", 1000, 640)
	bob.signIn("u_bob")
	waitUntil(bob, "a live stream", connStateJS, "live")

	alice := newUser(t, "u_alice")
	g := a.createGroup(t, alice, "live team", "u_bob")
	item := `document.querySelector('[data-testid=conversation][data-id="` + g.ID + `"]')`
	waitUntil(bob, "the group in the list, without a refresh", item+` !== null`, true)
	a.send(t, alice, g, "one")
	a.send(t, alice, g, "two")
	waitUntil(bob, "a badge of 2", item+`.querySelector('[data-testid=unread]').textContent`, "2")

	bob.openConversation(g.ID)
	bob.waitMessages("one", "two")
	waitUntil(bob, "the badge cleared", item+`.querySelector('[data-testid=unread]').hidden`, true)
	waitUntil(bob, "the read position stored", item+`.dataset.readSeq`, "2")
	if got := find(t, a.conversations(t, newUser(t, "u_bob")), g.ID); got.ReadSeq != 2 || got.UnreadCount != 0 {
		t.Fatalf("after bob opened the group, GET /api/conversations shows readSeq %d, unreadCount %d; want 2, 0", got.ReadSeq, got.UnreadCount)
	}
	if n := bob.opens(); n != 1 {
		t.Fatalf("bob's page opened %d streams, want the one inbox stream", n)
	}
}

// TestBrowserListAnswerOlderThanTheStream: the page reads its conversation
// list while the inbox stream runs, and the list's answer can be older than
// what the stream has said since. A group bob joins while his first list
// read is on its way stays in his list when the older answer (without it)
// arrives; a group he is removed from while a later read is on its way
// does not come back with that answer.
func TestBrowserListAnswerOlderThanTheStream(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	a := startApp(t, func(c *app.Config) { c.Dev = true })
	proxy := newHoldProxy(t, a.url)
	alice, bobAPI := newUser(t, "u_alice"), newUser(t, "u_bob")
	bob := newPage(t, browser, "bob", proxy.url()+"/", 1000, 640)
	const loadsJS = `document.getElementById('conversations').dataset.loads || '0'`

	// The first read, on the stream's ready, is held with its answer: no
	// conversations.
	h := proxy.holdList()
	bob.signIn("u_bob")
	h.awaitRead(t)
	g := a.createGroup(t, alice, "joined meanwhile", "u_bob")
	item := `document.querySelector('[data-testid=conversation][data-id="` + g.ID + `"]')`
	waitUntil(bob, "the group from the stream", item+` !== null`, true)
	close(h.release)
	waitUntil(bob, "the first list answer applied", loadsJS, "1")
	if !eval[bool](bob, item+` !== null`) {
		t.Fatal("the list answer read before bob joined the group took the group off his list")
	}

	// A read position set on another device, short of the end, makes the
	// page read the list again: held, with the group in its answer.
	a.send(t, alice, g, "one")
	a.send(t, alice, g, "two")
	waitUntil(bob, "a badge of 2", item+`.querySelector('[data-testid=unread]').textContent`, "2")
	h = proxy.holdList()
	if r := a.markRead(t, bobAPI, g, map[string]int64{"seq": 1}); r.status != 204 {
		t.Fatalf("POST read: %v", r)
	}
	h.awaitRead(t)
	a.removeMember(t, alice, g, "u_bob")
	waitUntil(bob, "the group gone on channel_removed", item+` === null`, true)
	close(h.release)
	waitUntil(bob, "the second list answer applied", loadsJS, "2")
	if eval[bool](bob, item+` !== null`) {
		t.Fatal("the list answer read before bob's removal put the group back on his list")
	}
}

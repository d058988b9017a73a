package tests

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/cmd/relay/app"
)

func TestStreamPreambleAndLiveMessage(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")
	g := a.createGroup(t, alice, "Team")
	channels := []string{g.channel(), dm.channel()}

	s := a.openStream(t, alice, channels, streamOpts{})
	for header, want := range map[string]string{
		"Content-Type":      "text/event-stream",
		"Cache-Control":     "no-cache",
		"X-Accel-Buffering": "no",
	} {
		if got := s.resp.Header.Get(header); got != want {
			t.Fatalf("%s: %q, want %q", header, got, want)
		}
	}
	if s.retry.Retry != a.cfg.SSERetry {
		t.Fatalf("retry: %s, want SSE_RETRY %s", s.retry.Retry, a.cfg.SSERetry)
	}
	if !slices.Equal(s.ready, channels) {
		t.Fatalf("ready lists %v, want %v", s.ready, channels)
	}

	// A live message is one event carrying exactly the POST's answer.
	r, m, err := a.postMessage(alice, dm, "hello")
	if err != nil {
		t.Fatal(err)
	}
	got, ev := s.nextMessage(t)
	if ev.Data != string(bytes.TrimSpace(r.body)) || ev.DataLines != 1 {
		t.Fatalf("the event's data is %q, want the POST answer %q on one line", ev.Data, bytes.TrimSpace(r.body))
	}
	if got.ID != m.ID || ev.ID == s.readyID || strings.ContainsAny(ev.ID, "\r\n\x00 ") {
		t.Fatalf("event id %q after ready id %q: want a new, wire-safe cursor", ev.ID, s.readyID)
	}
	// The cursor covers both channels; a resume from it gets what follows
	// in the other channel too.
	later := a.send(t, alice, g, "later")
	s.close()
	resumed := a.openStream(t, alice, channels, streamOpts{lastEventID: ev.ID})
	if next, _ := resumed.nextMessage(t); next.ID != later.ID {
		t.Fatalf("resuming from the message's id gave %+v, want %s", next, later.ID)
	}
}

func TestStreamHeartbeat(t *testing.T) {
	t.Parallel()
	a := startApp(t, func(c *app.Config) { c.Heartbeat = 200 * time.Millisecond })
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")
	s := a.openStream(t, alice, []string{dm.channel()}, streamOpts{})
	for range 2 {
		if ev := s.next(t); ev.Raw != ": ping\n\n" {
			t.Fatalf("an idle stream sent %q, want the heartbeat \": ping\"", ev.Raw)
		}
	}
}

func TestStreamFramingCannotBeBroken(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")
	s := a.openStream(t, alice, []string{dm.channel()}, streamOpts{})

	contents := []string{
		"line one\nline two",
		"windows\r\nline",
		"old mac\rline",
		"x\nid: x",
		"x\ndata: y",
		"x\nevent: z",
		"x\n\nid: forged\nevent: channel_removed\ndata: {\"channel\":\"dm:x\"}\n\nretry: 1",
		": ping\n\n: not a comment",
		"line \u2028 separators \u2029 and DEL \x7f",
	}
	for i, content := range contents {
		r, _, err := a.postMessage(alice, dm, content)
		if err != nil {
			t.Fatal(err)
		}
		// The very next event is this message, in one piece: nothing in
		// the content started another event or field.
		got, ev := s.nextMessage(t)
		if got.Content != content || got.Seq != int64(i+1) {
			t.Fatalf("sent %q, the stream delivered %q at seq %d", content, got.Content, got.Seq)
		}
		if ev.DataLines != 1 || ev.Data != string(bytes.TrimSpace(r.body)) {
			t.Fatalf("%q arrived in %d data lines: %q", content, ev.DataLines, ev.Raw)
		}
	}
}

func TestStreamOfAHundredChannels(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	groups := make([]conversation, 101)
	channels := make([]string, len(groups))
	for i := range groups {
		groups[i] = a.createGroup(t, alice, fmt.Sprintf("g%d", i))
		channels[i] = groups[i].channel()
	}

	s := a.openStream(t, alice, channels[:100], streamOpts{})
	if len(s.ready) != 100 {
		t.Fatalf("ready lists %d channels, want 100", len(s.ready))
	}
	for _, i := range []int{99, 0, 57} {
		m := a.send(t, alice, groups[i], fmt.Sprintf("to g%d", i))
		if got, _ := s.nextMessage(t); got.ID != m.ID {
			t.Fatalf("got %+v, want the message to g%d", got, i)
		}
	}
	a.send(t, alice, groups[100], "not subscribed")
	last := a.send(t, alice, groups[1], "to g1")
	if got, _ := s.nextMessage(t); got.ID != last.ID {
		t.Fatalf("got %+v, want only subscribed channels' messages", got)
	}

	q := url.Values{"channel": channels}
	wantError(t, a.do(t, http.MethodGet, "/api/sse?"+q.Encode(), alice.token, nil), http.StatusBadRequest, "")
}

func TestStreamQueryToken(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")

	s := a.openStream(t, alice, []string{dm.channel()}, streamOpts{queryToken: true})
	m := a.send(t, alice, dm, "hi")
	if got, _ := s.nextMessage(t); got.ID != m.ID {
		t.Fatalf("got %+v, want %s", got, m.ID)
	}

	// Only the stream takes the token from the URL.
	tok := url.QueryEscape(alice.token)
	for _, path := range []string{
		"/api/conversations?access_token=" + tok,
		"/api/messages?directMessageId=" + dm.ID + "&access_token=" + tok,
		"/api/sse/stats?access_token=" + tok,
	} {
		wantError(t, a.do(t, http.MethodGet, path, "", nil), http.StatusUnauthorized, "")
	}
	wantError(t, a.do(t, http.MethodPost, "/api/messages?access_token="+tok, "", messageBody(dm, "hi")), http.StatusUnauthorized, "")
	wantError(t, a.do(t, http.MethodGet, "/api/sse?channel="+dm.channel()+"&access_token=garbage", "", nil), http.StatusUnauthorized, "")
	// A token in a URL must not reach the logs (the stream's access log
	// line is written once it ended).
	s.close()
	waitFor(t, "the stream's access log", func() bool {
		for line := range strings.Lines(a.logs.String()) {
			if strings.Contains(line, "/api/sse?") && strings.Contains(line, "u_alice") {
				return true
			}
		}
		return false
	})
	if strings.Contains(a.logs.String(), alice.token) {
		t.Fatal("the service logged the access_token")
	}
}

func TestNonMembersSeeNothing(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice, carol := newUser(t, "u_alice"), newUser(t, "u_carol")
	g := a.createGroup(t, alice, "Team")
	dm := a.createDM(t, alice, "u_bob")
	carolsDM := a.createDM(t, carol, "u_dave")
	a.send(t, alice, g, "secret")

	pairs := []struct{ name, path, missing string }{
		{"stream of a group", "/api/sse?channel=" + g.channel(), "/api/sse?channel=group:grp_missing"},
		{"stream of a DM", "/api/sse?channel=" + dm.channel(), "/api/sse?channel=dm:dm_missing"},
		{"stream of one's own and another's channel", "/api/sse?channel=" + carolsDM.channel() + "&channel=" + g.channel(),
			"/api/sse?channel=" + carolsDM.channel() + "&channel=group:grp_missing"},
		{"history of a group", "/api/messages?groupId=" + g.ID, "/api/messages?groupId=grp_missing"},
		{"history of a DM", "/api/messages?directMessageId=" + dm.ID, "/api/messages?directMessageId=dm_missing"},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			got := a.do(t, http.MethodGet, p.path, carol.token, nil)
			wantError(t, got, http.StatusNotFound, "")
			absent := a.do(t, http.MethodGet, p.missing, carol.token, nil)
			wantError(t, absent, http.StatusNotFound, "")
			if !bytes.Equal(got.body, absent.body) {
				t.Fatalf("a non-member gets %s, a missing conversation %s: they must not differ", got, absent)
			}
		})
	}
}

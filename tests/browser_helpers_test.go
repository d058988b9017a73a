package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds a whole browser test: past it the browser stops and
// every action fails.
const browserTimeout = 45 * time.Second

// newBrowser starts a headless Chromium for t and returns the context of
// its first tab; newPage opens more, each in a browser context of its own.
// The browser stops when t ends. -short skips t; a missing browser fails it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("drives a real browser; skipped in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser tests need Debian's chromium (apt-get install chromium): %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	// On this machine's closed network Chromium's own background
	// connections (updates, sync, QUIC probes) are refused, which it does
	// not take well: turn them all off.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the browser process to exit
		cancelTimeout()
	})
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return browserCtx
}

// page is one tab of the browser, in a browser context of its own (its own
// cookies and storage: a separate user).
type page struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu         sync.Mutex
	exceptions []string // uncaught JavaScript exceptions
	console    []string
}

// newPage opens url in a new tab of browser with a viewport of width ×
// height CSS pixels. The tab closes when t ends; an uncaught JavaScript
// exception in it fails t.
func newPage(t *testing.T, browser context.Context, name, url string, width, height int64) *page {
	t.Helper()
	p := &page{t: t, name: name}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(p.listen))
	p.ctx = ctx
	t.Cleanup(func() {
		cancel()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.exceptions {
			t.Errorf("%s's page threw %s", name, e)
		}
		if t.Failed() && len(p.console) > 0 {
			t.Logf("%s's console:\n%s", name, strings.Join(p.console, ""))
		}
	})
	// The first run creates the tab, which lives as long as the context of
	// that run: no timeout of its own (browserTimeout bounds it).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: open a tab: %v", name, err)
	}
	p.do("open "+url, chromedp.EmulateViewport(width, height), chromedp.Navigate(url))
	return p
}

func (p *page) listen(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		text := ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			text += " " + ev.ExceptionDetails.Exception.Description
		}
		p.exceptions = append(p.exceptions, text)
	case *runtime.EventConsoleAPICalled:
		line := string(ev.Type) + ":"
		for _, a := range ev.Args {
			line += " " + string(a.Value)
		}
		p.console = append(p.console, line+"\n")
	}
}

// do runs steps in the tab and fails t if they do not finish within
// waitTimeout.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// eval returns the value of the JavaScript expression expr in p's tab.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("%s: evaluate %s: %v", p.name, expr, err)
	}
	return v
}

// waitUntil waits until the expression expr in p's tab gives want, and
// fails t with the last value if it does not within waitTimeout.
func waitUntil[T comparable](p *page, what, expr string, want T) {
	p.t.Helper()
	waitValue(p, what, expr, func(v T) bool { return v == want })
}

// waitValue waits until ok accepts the value of expr and returns that
// value. It does not poll: the page itself answers with expr's value as
// soon as a change of the document changes it (every expression waited on
// reads the document), and ok judges each value in turn.
func waitValue[T any](p *page, what, expr string, ok func(T) bool) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	var v T
	last := "" // no JSON text: the first evaluation answers at once
	for {
		quoted, _ := json.Marshal(last) // a JavaScript string literal
		next, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(awaitChangeJS, expr, quoted),
			chromedp.EvalAwaitPromise))
		if ctx.Err() != nil {
			p.t.Fatalf("%s: waited %s for %s; last value %+v", p.name, waitTimeout, what, v)
		}
		if err != nil {
			p.t.Fatalf("%s: evaluate %s: %v", p.name, expr, err)
		}
		if err := json.Unmarshal([]byte(next), &v); err != nil {
			p.t.Fatalf("%s: decode the value of %s, %s: %v", p.name, expr, next, err)
		}
		if ok(v) {
			return v
		}
		last = next
	}
}

// awaitChangeJS is a promise of the JSON text of an expression (the first
// %s) once it differs from the JSON text given (the second, quoted): at
// once if it does, else at the first mutation of the document that
// changes it.
const awaitChangeJS = `(() => {
	const read = () => JSON.stringify(%s);
	const last = %s;
	return new Promise(resolve => {
		const now = read();
		if (now !== last) { resolve(now); return; }
		const watch = new MutationObserver(() => {
			const v = read();
			if (v !== last) { watch.disconnect(); resolve(v); }
		});
		watch.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
	});
})()`

// openConversation clicks the conversation id in the page's list once it
// is there. The list is redrawn whenever the inbox stream or a refresh
// changes it, so the click is one JavaScript turn that finds the item and
// clicks it: a node found by one DevTools call can be replaced before the
// next one clicks it.
func (p *page) openConversation(id string) {
	p.t.Helper()
	item := fmt.Sprintf(`document.querySelector('[data-testid=conversation][data-id="%s"]')`, id)
	waitUntil(p, "conversation "+id+" in the list", item+` !== null`, true)
	if !eval[bool](p, `(() => { const el = `+item+`; el?.click(); return el !== null; })()`) {
		p.t.Fatalf("%s: conversation %s left the list before it could be opened", p.name, id)
	}
}

// connStateJS reads the page's stream state: idle, connecting, live,
// reconnecting or closed.
const connStateJS = `document.getElementById('conn-state').dataset.state`

// opens is how many times the page's current stream has been opened.
func (p *page) opens() int {
	n, err := strconv.Atoi(eval[string](p, `document.getElementById('conn-state').dataset.opens`))
	if err != nil {
		p.t.Fatalf("%s: data-opens: %v", p.name, err)
	}
	return n
}

// chatJS reads the chat: the text of every message in it, confirmed or
// still being sent, in page order; the seqs of the confirmed ones; and how
// many are still being sent.
const chatJS = `({
	contents: Array.from(document.querySelectorAll('#chat .content'), e => e.textContent),
	seqs: Array.from(document.querySelectorAll('#messages [data-testid=message]'), e => Number(e.dataset.seq)),
	pending: document.querySelectorAll('#pending [data-testid=pending]').length,
})`

type chat struct {
	Contents []string
	Seqs     []int64
	Pending  int
}

// waitMessages waits until the chat shows exactly want, in this order, each
// once, all confirmed, and checks that their seqs are 1, 2, 3, ….
func (p *page) waitMessages(want ...string) {
	p.t.Helper()
	got := waitValue(p, "the messages "+strconv.Quote(strings.Join(want, " | ")), chatJS, func(c chat) bool {
		return slices.Equal(c.Contents, want) && c.Pending == 0
	})
	if !slices.Equal(got.Seqs, seqRange(1, int64(len(want)))) {
		p.t.Fatalf("%s: the messages have seqs %v, want 1 to %d in order", p.name, got.Seqs, len(want))
	}
}

// screenshot saves the tab's viewport as a PNG in the artifacts directory
// (RELAY_ARTIFACTS, by default tests/artifacts) and logs where.
func (p *page) screenshot(file string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("%s: screenshot: %v", p.name, err)
	}
	dir := os.Getenv("RELAY_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	path, err := filepath.Abs(filepath.Join(dir, file))
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("%s's page: screenshot %s", p.name, path)
}

// cutProxy is a TCP proxy in front of a service. cut closes every
// connection through it and turns new ones away until restore: the
// browser's streams drop on the server side, and its reconnects fail,
// while the service itself carries on.
type cutProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

// newCutProxy proxies a loopback port to target until t ends.
func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

// url is the proxy's base URL.
func (p *cutProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.forward(c) })
	}
}

func (p *cutProxy) forward(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, waitTimeout)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		c.Close()
		up.Close()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(up, c)
		up.Close()
		c.Close()
	}()
	_, _ = io.Copy(c, up)
	c.Close()
	up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// track registers the two ends of a forwarded connection, unless the proxy
// is down: then the connection is turned away.
func (p *cutProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// cut closes every connection and turns new ones away until restore.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
}

// restore lets connections through again.
func (p *cutProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// holdProxy is an HTTP reverse proxy in front of a service that can hold
// the answer of the page's next list read (a plain GET /api/conversations;
// the sign-in's token check asks with ?limit=1): the service answers at
// once, and the page gets that answer only when the test releases it, as
// if the network had kept it while the inbox stream went on.
type holdProxy struct {
	srv   *httptest.Server
	mu    sync.Mutex
	armed *heldList
}

// heldList is one held answer: read is closed once the service has
// answered, release lets the answer go to the page.
type heldList struct {
	read    chan struct{}
	release chan struct{}
}

// newHoldProxy proxies to the service at target (a base URL) until t ends.
func newHoldProxy(t *testing.T, target string) *holdProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1 // event streams pass through as written
	p := &holdProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := p.take(r)
		if h == nil {
			rp.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		close(h.read)
		select {
		case <-h.release:
		case <-r.Context().Done():
			return
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// url is the proxy's base URL.
func (p *holdProxy) url() string { return p.srv.URL }

// holdList arms the proxy to hold the next list read.
func (p *holdProxy) holdList() *heldList {
	h := &heldList{read: make(chan struct{}), release: make(chan struct{})}
	p.mu.Lock()
	p.armed = h
	p.mu.Unlock()
	return h
}

// take returns the armed hold if r is the list read it waits for.
func (p *holdProxy) take(r *http.Request) *heldList {
	if r.Method != http.MethodGet || r.URL.Path != "/api/conversations" || r.URL.RawQuery != "" {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.armed
	p.armed = nil
	return h
}

// awaitRead waits until the service has answered the held read.
func (h *heldList) awaitRead(t *testing.T) {
	t.Helper()
	select {
	case <-h.read:
	case <-time.After(waitTimeout):
		t.Fatalf("the page did not read its conversation list within %s", waitTimeout)
	}
}

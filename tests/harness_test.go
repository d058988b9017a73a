package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/relaymsg/relay/adapters/authtoken"
	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/cmd/relay/app"
)

// testSecret is the AUTH_SECRET of every service the tests start.
var testSecret = []byte("relay-black-box-tests-secret-0123456789")

// waitTimeout bounds every wait: for an event, an answer, a process. It is
// a deadline for failing, never a delay anything depends on.
const waitTimeout = 15 * time.Second

// testLimits are the rate limits of every service the tests start, unless
// a test sets its own: far above the defaults, since tests post hundreds of
// messages as one user and reconnect streams in tight loops from one
// address, much faster than any person (limits_test.go tests the limits).
// They stay on, so that every request still goes through its bucket. The
// stream counts keep their defaults: no test opens 50 streams as one user.
var testLimits = map[string]string{
	"PUBLISH_RATE": "100000", "PUBLISH_BURST": "100000",
	"DM_CREATE_RATE": "100000", "DM_CREATE_BURST": "100000",
	"GROUP_CREATE_RATE": "100000", "GROUP_CREATE_BURST": "100000",
	"MEMBER_ADD_RATE": "100000", "MEMBER_ADD_BURST": "100000",
	"READ_RATE": "100000", "READ_BURST": "100000",
	"SERVICE_PUBLISH_RATE": "100000", "SERVICE_PUBLISH_BURST": "100000",
	"SERVICE_GROUP_CREATE_RATE": "100000", "SERVICE_GROUP_CREATE_BURST": "100000",
	"SSE_CONNECT_RATE": "100000", "SSE_CONNECT_BURST": "100000",
}

// withTestLimits adds to env each of testLimits it does not set.
func withTestLimits(env map[string]string) map[string]string {
	for k, v := range testLimits {
		if _, ok := env[k]; !ok {
			env[k] = v
		}
	}
	return env
}

// testApp is one assembled service running in-process on a fresh database.
type testApp struct {
	*api
	cfg  app.Config
	dsn  string
	logs *syncBuffer // the service's log
}

// startApp starts the service on 127.0.0.1:0 with its own database and the
// configuration LoadConfig gives (then adjusted by configure), and stops it
// when t ends. It skips t under -short; a missing database fails it.
func startApp(t *testing.T, configure ...func(*app.Config)) *testApp {
	t.Helper()
	pgtest.SkipIfShort(t)
	_, dsn := pgtest.NewDatabase(t)
	return startAppOn(t, dsn, nil, configure...)
}

// startAppOn is startApp on the existing database dsn, with extra fx
// options (nil: none): several instances share one database this way.
func startAppOn(t *testing.T, dsn string, extra []fx.Option, configure ...func(*app.Config)) *testApp {
	t.Helper()
	env := withTestLimits(map[string]string{"ADDR": "127.0.0.1:0", "DATABASE_URL": dsn, "AUTH_SECRET": string(testSecret)})
	cfg, err := app.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	// Parallel tests each hold a pool; keep them under max_connections.
	cfg.DBMaxOpenConns = 10
	for _, f := range configure {
		f(&cfg)
	}

	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var server *httpapi.Server
	fxApp := app.New(cfg, logger, append([]fx.Option{fx.Populate(&server)}, extra...)...)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := fxApp.Start(ctx); err != nil {
		t.Fatalf("start the service: %v\n%s", err, logs)
	}
	a := &testApp{api: newAPI(t, "http://"+server.Addr().String()), cfg: cfg, dsn: dsn, logs: logs}
	t.Cleanup(func() {
		// A connection the client dialled but never sent a request on is
		// new, not idle, to the server, whose Shutdown waits 5 s before it
		// closes such a one: close the client's idle connections first.
		a.client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := fxApp.Stop(ctx); err != nil {
			t.Errorf("stop the service: %v", err)
		}
		if t.Failed() {
			t.Logf("service log:\n%s", logs)
		}
	})
	return a
}

// api speaks HTTP to one running service with a client of its own.
type api struct {
	url    string
	client *http.Client
}

// newAPI returns a client of the service at url; its idle connections are
// closed when t ends, so that no connection goroutine outlives the test.
// (Registered before the app's stop, it runs after it.)
func newAPI(t *testing.T, url string) *api {
	c := &api{url: url, client: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(c.client.CloseIdleConnections)
	return c
}

// user is a caller with a valid token.
type user struct {
	id    string
	token string
}

func newUser(t testing.TB, id string) user  { return user{id: id, token: sign(t, id, false, time.Hour)} }
func newAdmin(t testing.TB, id string) user { return user{id: id, token: sign(t, id, true, time.Hour)} }

func sign(t testing.TB, sub string, admin bool, ttl time.Duration) string {
	t.Helper()
	tok, err := authtoken.Sign(testSecret, sub, admin, ttl, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(r.body)) }

// request sends body (nil: none; string or []byte: as is; anything else as
// JSON) with token as bearer token (none when empty) and reads the whole
// answer. It does not touch t, so goroutines may call it.
func (c *api) request(method, path, token string, body any) (response, error) {
	return c.requestHeader(method, path, token, nil, body)
}

// requestHeader is request with extra request headers.
func (c *api) requestHeader(method, path, token string, header http.Header, body any) (response, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		r = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, r)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// do is request for the test goroutine: a transport failure fails t.
func (c *api) do(t testing.TB, method, path, token string, body any) response {
	t.Helper()
	r, err := c.request(method, path, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// expect fails t unless r has status; then it decodes r's body into v
// (unless v is nil).
func expect(t testing.TB, r response, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %s, want status %d", r, status)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("decode %s: %v", r, err)
		}
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// wantError fails t unless r is an error answer of status with exactly the
// API's error body, {"error": {"code": "<snake_case>", "message": "…"}}, and
// code (when not empty). It returns the code.
func wantError(t testing.TB, r response, status int, code string) string {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %s, want status %d", r, status)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error answer %s has Content-Type %q, want application/json", r, ct)
	}
	var body struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error == nil {
		t.Fatalf("error body of %s is not {\"error\":{\"code\",\"message\"}}: %v", r, err)
	}
	if !snakeCase.MatchString(body.Error.Code) || body.Error.Message == "" {
		t.Fatalf("error body of %s: want a snake_case code and a message", r)
	}
	if code != "" && body.Error.Code != code {
		t.Fatalf("error code of %s is %q, want %q", r, body.Error.Code, code)
	}
	return body.Error.Code
}

// conversation is a conversation as the API shows it.
type conversation struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Name      *string  `json:"name"`
	MemberIDs []string `json:"memberIds"`
	CreatedAt string   `json:"createdAt"`
	LastSeq   int64    `json:"lastSeq"`
	// The caller's view, in GET /api/conversations only.
	ReadSeq     int64 `json:"readSeq"`
	UnreadCount int64 `json:"unreadCount"`
}

// channel is the conversation's SSE channel.
func (c conversation) channel() string {
	if strings.HasPrefix(c.ID, "grp_") {
		return "group:" + c.ID
	}
	return "dm:" + c.ID
}

// idField names the conversation's id in a message body or query.
func (c conversation) idField() string {
	if strings.HasPrefix(c.ID, "grp_") {
		return "groupId"
	}
	return "directMessageId"
}

// message is a message as the API shows it.
type message struct {
	ID              string  `json:"id"`
	Channel         string  `json:"channel"`
	Seq             int64   `json:"seq"`
	DirectMessageID *string `json:"directMessageId"`
	GroupID         *string `json:"groupId"`
	SenderID        string  `json:"senderId"`
	PersonaID       *string `json:"personaId"`
	Content         string  `json:"content"`
	ClientMessageID *string `json:"clientMessageId"`
	CreatedAt       string  `json:"createdAt"`
}

func (c *api) createDM(t testing.TB, u user, other string) conversation {
	t.Helper()
	var dm conversation
	expect(t, c.do(t, http.MethodPost, "/api/dms", u.token, map[string]any{"memberIds": []string{u.id, other}}), http.StatusCreated, &dm)
	return dm
}

func (c *api) createGroup(t testing.TB, u user, name string, members ...string) conversation {
	t.Helper()
	if members == nil {
		members = []string{}
	}
	var g conversation
	expect(t, c.do(t, http.MethodPost, "/api/groups", u.token, map[string]any{"name": name, "memberIds": members}), http.StatusCreated, &g)
	return g
}

func (c *api) addMember(t testing.TB, u user, group conversation, member string) {
	t.Helper()
	expect(t, c.do(t, http.MethodPost, "/api/groups/"+group.ID+"/members", u.token, map[string]any{"userId": member}), http.StatusNoContent, nil)
}

func (c *api) removeMember(t testing.TB, u user, group conversation, member string) {
	t.Helper()
	expect(t, c.do(t, http.MethodDelete, "/api/groups/"+group.ID+"/members/"+member, u.token, nil), http.StatusNoContent, nil)
}

// messageBody is the body of POST /api/messages of content into conv.
func messageBody(conv conversation, content string) map[string]any {
	return map[string]any{conv.idField(): conv.ID, "content": content}
}

// postMessage sends content into conv and returns the answer (any status).
// It does not touch t, so goroutines may call it.
func (c *api) postMessage(u user, conv conversation, content string) (response, message, error) {
	r, err := c.request(http.MethodPost, "/api/messages", u.token, messageBody(conv, content))
	if err != nil {
		return r, message{}, err
	}
	if r.status != http.StatusCreated {
		return r, message{}, fmt.Errorf("POST /api/messages: got %s, want 201", r)
	}
	var m message
	if err := json.Unmarshal(r.body, &m); err != nil {
		return r, message{}, fmt.Errorf("POST /api/messages: decode %s: %w", r, err)
	}
	return r, m, nil
}

// send posts content into conv and expects 201.
func (c *api) send(t testing.TB, u user, conv conversation, content string) message {
	t.Helper()
	_, m, err := c.postMessage(u, conv, content)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// history returns GET /api/messages of conv with the extra query (e.g.
// "&limit=5"), which must answer 200.
func (c *api) history(t testing.TB, u user, conv conversation, query string) []message {
	t.Helper()
	var page []message
	expect(t, c.do(t, http.MethodGet, "/api/messages?"+conv.idField()+"="+conv.ID+query, u.token, nil), http.StatusOK, &page)
	return page
}

func (c *api) conversations(t testing.TB, u user) []conversation {
	t.Helper()
	var list []conversation
	expect(t, c.do(t, http.MethodGet, "/api/conversations", u.token, nil), http.StatusOK, &list)
	return list
}

// find returns the conversation of list with id.
func find(t testing.TB, list []conversation, id string) conversation {
	t.Helper()
	for _, c := range list {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("conversation %s is not in %+v", id, list)
	return conversation{}
}

// metric returns the value of the unlabelled series name on /metrics.
func (c *api) metric(t testing.TB, name string) float64 {
	t.Helper()
	r := c.do(t, http.MethodGet, "/metrics", "", nil)
	expect(t, r, http.StatusOK, nil)
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no series %s:\n%s", name, r.body)
	return 0
}

// seqs returns the seqs of msgs in order.
func seqs(msgs []message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

// seqRange returns from, from+1, …, to.
func seqRange(from, to int64) []int64 {
	out := []int64{}
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// mustUnmarshal decodes the JSON text data into v.
func mustUnmarshal(t testing.TB, data string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(data), v); err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
}

// waitFor polls cond until it holds and fails t if it does not within
// waitTimeout. It is for state the API offers no event for.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", waitTimeout, what)
		}
		<-tick.C
	}
}

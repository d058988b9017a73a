package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaymsg/relay/adapters/authtoken"
	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

var testSecret = []byte("test-secret-of-at-least-32-bytes!!")

// env is one handler over fakes, served by an httptest.Server.
type env struct {
	t        *testing.T
	store    *fakeStore
	notifier *fakeNotifier
	handler  *httpapi.Handler
	server   *httptest.Server
	client   *http.Client
	registry *prometheus.Registry
	logs     *syncBuffer
}

type envOptions struct {
	cfg       httpapi.Config
	heartbeat time.Duration
	queue     int
	now       func() time.Time
	readiness []httpapi.ReadinessCheck
	convs     ports.ConversationRepository // overrides the fake store's
	msgs      ports.MessageRepository
	groups    application.GroupLimits
}

func newEnv(t *testing.T, opts ...func(*envOptions)) *env {
	t.Helper()
	o := envOptions{heartbeat: time.Hour, queue: 64}
	for _, f := range opts {
		f(&o)
	}
	e := &env{t: t, store: newFakeStore(), notifier: newFakeNotifier(o.queue), registry: prometheus.NewRegistry(), logs: &syncBuffer{}}
	var convs ports.ConversationRepository = e.store
	var msgs ports.MessageRepository = e.store
	if o.convs != nil {
		convs = o.convs
	}
	if o.msgs != nil {
		msgs = o.msgs
	}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ids, clock := &seqIDs{}, fixedClock{}
	uc := httpapi.UseCases{
		SendMessage:         application.NewSendMessage(convs, msgs, e.notifier, ids, clock, logger),
		ListMessages:        application.NewListMessages(convs, msgs),
		CreateDirectMessage: application.NewCreateDirectMessage(convs, ids, clock, e.notifier, logger),
		CreateGroup:         application.NewCreateGroup(convs, ids, clock, e.notifier, logger, o.groups),
		AddMember:           application.NewAddMember(convs, e.notifier, logger, o.groups),
		RemoveMember:        application.NewRemoveMember(convs, e.notifier, logger),
		ListConversations:   application.NewListConversations(convs),
		MarkRead:            application.NewMarkRead(convs, e.notifier, logger),
		SubscribeChannel:    application.NewSubscribeChannel(convs, msgs, e.notifier, o.heartbeat, logger),
		SubscribeInbox:      application.NewSubscribeInbox(convs, msgs, e.notifier, o.heartbeat, logger),
	}
	metrics, err := httpapi.NewMetrics(e.registry)
	if err != nil {
		t.Fatal(err)
	}
	cfg := o.cfg
	cfg.AuthSecret = testSecret
	e.handler, err = httpapi.NewHandler(uc, cfg, httpapi.Deps{
		Logger: logger, Metrics: metrics, Gatherer: e.registry, Readiness: o.readiness, Now: o.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.server = httptest.NewServer(e.handler)
	e.client = &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		e.shutdown()
		e.client.CloseIdleConnections()
	})
	return e
}

// shutdown ends every stream and request and waits for them (and so for
// their log lines and metrics), as Server.Stop does: streams first, since
// httptest.Server.Close waits for every request, then the streams that
// took their connections over, which the server does not know of.
func (e *env) shutdown() {
	e.t.Helper()
	e.handler.CloseStreams()
	e.server.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.handler.WaitStreams(ctx); err != nil {
		e.t.Errorf("streams still running 10 s after CloseStreams: %v", err)
	}
}

func (e *env) token(user string) string { return sign(e.t, user, false, time.Hour) }
func (e *env) admin(user string) string { return sign(e.t, user, true, time.Hour) }

func sign(t *testing.T, user string, admin bool, ttl time.Duration) string {
	t.Helper()
	tok, err := authtoken.Sign(testSecret, user, admin, ttl, time.Now())
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

// do sends body (a string is sent as is, anything else as JSON) and reads
// the whole answer.
func (e *env) do(method, path, token string, body any) response {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.server.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// decode unmarshals the body into v, failing the test on bad JSON.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

// errorCode returns the code of an error body, failing the test when the
// body is not the API's error shape.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	r.decode(t, &body)
	if body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("not an error body: %s", r.body)
	}
	return body.Error.Code
}

// expect fails the test unless the answer has status (and, for errors, code).
func (r response) expect(t *testing.T, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if code != "" {
		if got := r.errorCode(t); got != code {
			t.Fatalf("error code = %q, want %q; body %s", got, code, r.body)
		}
	}
}

// seedDM creates a DM between a and b directly in the store.
func (e *env) seedDM(a, b string) domain.ChannelID {
	e.t.Helper()
	dm, _, _, err := e.store.CreateDirectMessage(context.Background(), domain.Conversation{
		ID: domain.ConversationID("dm_" + a + "_" + b), Kind: domain.KindDM,
		MemberIDs: []domain.UserID{domain.UserID(a), domain.UserID(b)}, CreatedAt: testNow,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return dm.Channel()
}

// seedGroup creates a group directly in the store.
func (e *env) seedGroup(id string, members ...string) domain.ChannelID {
	e.t.Helper()
	ms := make([]domain.UserID, len(members))
	for i, m := range members {
		ms[i] = domain.UserID(m)
	}
	g, _, err := e.store.CreateGroup(context.Background(), domain.Conversation{
		ID: domain.ConversationID(id), Kind: domain.KindGroup, Name: id, MemberIDs: ms, CreatedAt: testNow,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return g.Channel()
}

// send posts a message through the API and returns its JSON.
func (e *env) send(token string, ch domain.ChannelID, content string) map[string]any {
	e.t.Helper()
	body := map[string]any{"content": content}
	if ch.Kind == domain.KindDM {
		body["directMessageId"] = string(ch.ID)
	} else {
		body["groupId"] = string(ch.ID)
	}
	r := e.do(http.MethodPost, "/api/messages", token, body)
	r.expect(e.t, http.StatusCreated, "")
	var m map[string]any
	r.decode(e.t, &m)
	return m
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
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

func readAll(resp *http.Response) ([]byte, error) { return io.ReadAll(resp.Body) }

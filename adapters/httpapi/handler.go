package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/relaymsg/relay/adapters/httpapi/web"
)

// Handler is Relay's HTTP API: every route of API.md plus /healthz,
// /readyz, /metrics and the demo page at /, behind access logging and
// metrics. It is safe for concurrent use.
type Handler struct {
	root      http.Handler
	uc        UseCases
	cfg       Config
	logger    *slog.Logger
	metrics   *Metrics
	auth      *authenticator
	readiness []ReadinessCheck
	cache     *messageCache
	streams   *streamRegistry
	admission *admission

	// closing is done once CloseStreams was called: open streams end and
	// new ones are told to come back later.
	closing      context.Context
	closeStreams context.CancelFunc

	// Streams that took their connection over run on after their request's
	// handler returned (see serveSSE), out of http.Server's sight: they are
	// counted here, and their connections kept with the cancel of their
	// context, so that the handler can end them, wait for them and cut them.
	// detachMu orders every detach before (or after) CloseStreams, so that
	// none starts once WaitStreams waits.
	detachMu sync.Mutex
	detached sync.WaitGroup
	conns    map[net.Conn]context.CancelFunc
}

// StreamCloser is implemented by handlers that hold long-lived streams;
// Server.Stop calls CloseStreams before it drains the server, because
// http.Server.Shutdown waits for every active request and a stream never
// ends by itself, and WaitStreams after it, because a stream that took its
// connection over is no request of the server's any more.
type StreamCloser interface {
	CloseStreams()
	WaitStreams(ctx context.Context) error
}

var _ StreamCloser = (*Handler)(nil)

// NewHandler returns the API handler. cfg.AuthSecret and every use case are
// required; see Deps for the optional collaborators.
func NewHandler(uc UseCases, cfg Config, deps Deps) (*Handler, error) {
	if len(cfg.AuthSecret) == 0 {
		return nil, errors.New("httpapi: the auth secret is required")
	}
	if err := uc.validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if deps.Metrics == nil {
		m, err := NewMetrics(nil)
		if err != nil {
			return nil, err
		}
		deps.Metrics = m
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	h := &Handler{
		uc:        uc,
		cfg:       cfg.withDefaults(),
		logger:    deps.Logger,
		metrics:   deps.Metrics,
		auth:      newAuthenticator(cfg.AuthSecret, deps.Now),
		readiness: deps.Readiness,
		cache:     newMessageCache(messageCacheSlots),
		streams:   newStreamRegistry(deps.Metrics),
		conns:     make(map[net.Conn]context.CancelFunc),
	}
	h.admission = newAdmission(h.cfg.Limits, deps.Now)
	h.closing, h.closeStreams = context.WithCancel(context.Background())
	h.root = h.instrument(h.routes(deps))
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.root.ServeHTTP(w, r) }

// CloseStreams ends every open SSE stream promptly and answers later
// stream requests with a bare `retry:`, so that clients reconnect (to
// another instance) with their cursors. /readyz answers 503 from then on.
// It is safe to call more than once.
func (h *Handler) CloseStreams() {
	h.detachMu.Lock()
	defer h.detachMu.Unlock()
	h.closeStreams()
	for _, cancel := range h.conns {
		cancel()
	}
}

// WaitStreams waits until every stream that took its connection over has
// ended, after CloseStreams. When ctx ends first, the writes of the streams
// still running fail at once (a client that stopped reading would hold its
// stream until the write timeout) and WaitStreams waits for them to end,
// then returns ctx's error.
func (h *Handler) WaitStreams(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		h.detached.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	h.detachMu.Lock()
	for c := range h.conns {
		_ = c.SetWriteDeadline(time.Unix(1, 0))
	}
	h.detachMu.Unlock()
	<-done
	return ctx.Err()
}

// detach counts a stream that runs on after its handler on conn, whose
// context CloseStreams ends with cancel, and reports true, or false once
// CloseStreams was called (the stream must not start). The stream calls
// the returned func when it has ended.
func (h *Handler) detach(conn net.Conn, cancel context.CancelFunc) (ended func(), ok bool) {
	h.detachMu.Lock()
	defer h.detachMu.Unlock()
	if h.closing.Err() != nil {
		return nil, false
	}
	h.detached.Add(1)
	h.conns[conn] = cancel
	return func() {
		h.detachMu.Lock()
		delete(h.conns, conn)
		h.detachMu.Unlock()
		h.detached.Done()
	}, true
}

func (h *Handler) routes(deps Deps) http.Handler {
	// Routes match the path as sent, still percent-encoded and not
	// cleaned: a user id may hold '/', '%', '?', '#' or be "." or "..",
	// and must reach its handler as one path variable, which the handler
	// decodes once (pathVar). Decoded and cleaned, such an id would name
	// another route or none.
	r := mux.NewRouter().UseEncodedPath().SkipClean(true)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeErrorBody(w, http.StatusNotFound, codeNotFound, "no such route")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeErrorBody(w, http.StatusMethodNotAllowed, codeMethod, "method not allowed on this route")
	})
	r.Use(recordRoute)

	r.HandleFunc("/healthz", h.healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", h.readyz).Methods(http.MethodGet, http.MethodHead)
	if deps.Gatherer != nil {
		r.Handle("/metrics", promhttp.HandlerFor(deps.Gatherer, promhttp.HandlerOpts{})).Methods(http.MethodGet)
	}

	api := func(f apiFunc) http.Handler { return h.requireAuth(false, h.handle(h.bounded(f))) }
	// The limit is checked before the deadline starts and the body is
	// read: a refused request costs a map lookup.
	limited := func(lim *userRate, f apiFunc) http.Handler {
		return h.requireAuth(false, h.handle(h.rateLimited(lim, h.bounded(f))))
	}
	r.Handle("/api/dms", limited(h.admission.dms, h.createDirectMessage)).Methods(http.MethodPost)
	r.Handle("/api/groups", limited(h.admission.groups, h.createGroup)).Methods(http.MethodPost)
	r.Handle("/api/groups/{id}/members", limited(h.admission.members, h.addMember)).Methods(http.MethodPost)
	r.Handle("/api/groups/{id}/members/{userId}", api(h.removeMember)).Methods(http.MethodDelete)
	r.Handle("/api/conversations", api(h.listConversations)).Methods(http.MethodGet)
	r.Handle("/api/conversations/{id}/read", limited(h.admission.read, h.markRead)).Methods(http.MethodPost)
	r.Handle("/api/messages", limited(h.admission.publish, h.sendMessage)).Methods(http.MethodPost)
	r.Handle("/api/messages", api(h.listMessages)).Methods(http.MethodGet)
	r.Handle("/api/sse", h.requireAuth(true, h.handle(h.subscribe))).Methods(http.MethodGet)
	r.Handle("/api/sse/inbox", h.requireAuth(true, h.handle(h.subscribeInbox))).Methods(http.MethodGet)
	r.Handle("/api/sse/stats", api(h.sseStats)).Methods(http.MethodGet)
	if h.cfg.DevTokens {
		r.Handle("/dev/token", h.handle(h.devToken)).Methods(http.MethodPost)
	}
	// The demo page: its few exact paths only, so every other path is
	// still the JSON 404 above.
	page := web.Handler()
	for _, p := range web.Paths() {
		r.Handle(p, page).Methods(http.MethodGet, http.MethodHead)
	}
	return r
}

// apiFunc is a handler whose failures are returned, so that they are all
// answered and logged in one place (respondError).
type apiFunc func(w http.ResponseWriter, r *http.Request) error

func (h *Handler) handle(f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			h.respondError(w, r, err)
		}
	})
}

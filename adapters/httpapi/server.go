package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Timeouts of the HTTP server. There is deliberately no WriteTimeout (it
// would end every SSE stream; streams bound each write themselves). The
// ReadTimeout bounds reading a request, headers and body, so that a client
// cannot hold a connection by never finishing its body. It does not reach
// SSE streams: net/http clears the read deadline when, the request read,
// it starts its background read of the connection (so a passing deadline
// does not cancel the request's context), and the stream handler lifts it
// as well when it starts, not to depend on that detail (see subscribe).
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	// DefaultMaxHeaderBytes bounds a request's line and headers: ample
	// for a token and a long query, far under net/http's 1 MiB.
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultReadTimeout is the read timeout of NewServer without
	// WithReadTimeout.
	DefaultReadTimeout = 30 * time.Second
)

// Server is the HTTP server of the API: it owns the listener and the
// goroutine serving it.
type Server struct {
	srv     *http.Server
	handler http.Handler
	logger  *slog.Logger
	addr    string

	mu       sync.Mutex
	listener net.Listener
	done     chan struct{} // closed when the serving goroutine returns
}

// NewServer returns a server of h on addr (host:port; port 0 picks a free
// one, see Addr). When h implements StreamCloser (as *Handler does), Stop
// ends its streams before draining.
func NewServer(addr string, h http.Handler, logger *slog.Logger, opts ...ServerOption) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       DefaultReadTimeout,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	for _, o := range opts {
		o(srv)
	}
	return &Server{
		srv:     srv,
		handler: h,
		logger:  logger,
		addr:    addr,
	}
}

// ServerOption adjusts a limit of the HTTP server; zero values keep the
// default.
type ServerOption func(*http.Server)

// WithReadHeaderTimeout bounds reading a request's headers, from its first
// byte: a client that sends them slowly, however steadily, is cut off.
func WithReadHeaderTimeout(d time.Duration) ServerOption {
	return func(s *http.Server) {
		if d > 0 {
			s.ReadHeaderTimeout = d
		}
	}
}

// WithMaxHeaderBytes bounds the request line and headers together
// (DefaultMaxHeaderBytes); a request over it is 431.
func WithMaxHeaderBytes(n int) ServerOption {
	return func(s *http.Server) {
		if n > 0 {
			s.MaxHeaderBytes = n
		}
	}
}

// WithReadTimeout bounds reading a whole request, headers and body, from
// its first byte (DefaultReadTimeout). A body still unread by then fails to
// read: the request is answered 408 or its connection closed. SSE streams
// lift it once they start.
func WithReadTimeout(d time.Duration) ServerOption {
	return func(s *http.Server) {
		if d > 0 {
			s.ReadTimeout = d
		}
	}
}

// Start listens on the address before it returns, so that a port in use
// fails start-up, and then serves in a goroutine that Stop waits for.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener != nil {
		return errors.New("httpapi: server already started")
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.addr, err)
	}
	s.listener = ln
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("http server stopped", "error", err)
		}
	}()
	s.logger.Info("http server listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the address the server listens on (the real port when it
// was started on port 0), or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return nil
	}
	return s.listener.Addr()
}

// Stop ends the handler's streams, stops accepting connections and waits
// for in-flight requests and streams until ctx is done; then it closes
// whatever is left and waits for the serving goroutine and the streams.
// It returns ctx's error when requests or streams had to be cut off.
// Stop before Start does nothing.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	sc, closer := s.handler.(StreamCloser)
	if closer {
		sc.CloseStreams()
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		// Shutdown gave up waiting; cut the remaining connections so that
		// the serving goroutine, and every handler, can end.
		err = errors.Join(err, s.srv.Close())
	}
	<-done
	if closer {
		// The streams that took their connections over, which Shutdown
		// does not know of (their error is ctx's, already reported if
		// Shutdown gave up).
		if werr := sc.WaitStreams(ctx); err == nil {
			err = werr
		}
	}
	return err
}

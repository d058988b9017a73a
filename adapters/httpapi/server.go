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
// would end every SSE stream; streams bound each write themselves) and no
// ReadTimeout (once it passed, the server's background read of an idle
// stream connection would fail and cancel the stream's context); request
// bodies are bounded in size instead.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
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
func NewServer(addr string, h http.Handler, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: readHeaderTimeout,
			IdleTimeout:       idleTimeout,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		handler: h,
		logger:  logger,
		addr:    addr,
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
// for in-flight requests until ctx is done; then it closes whatever is
// left and waits for the serving goroutine. It returns ctx's error when
// requests had to be cut off. Stop before Start does nothing.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	if sc, ok := s.handler.(StreamCloser); ok {
		sc.CloseStreams()
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		// Shutdown gave up waiting; cut the remaining connections so that
		// the serving goroutine, and every handler, can end.
		err = errors.Join(err, s.srv.Close())
	}
	<-done
	return err
}

package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"time"
)

// bounded gives f's request a deadline of cfg.RequestTimeout and answers
// when it passes, 503 (context.DeadlineExceeded) with Retry-After, even if
// f is still stuck: lib/pq, on a link that drops everything, does not
// return at its context's deadline but only once the cancel request it
// sends over the same dead network gives up. f answers into a buffer,
// copied to the client only if f finished in time; a late f's answer is
// dropped and its goroutine ends when its call does.
func (h *Handler) bounded(f apiFunc) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RequestTimeout)
		defer cancel()
		// Only the deadline stops the wait: when the request's context is
		// cancelled (the client left, its body timed out) f sees it and
		// answers why, unless it is stuck, which the deadline covers.
		deadline, stop := context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.RequestTimeout)
		defer stop()
		bw := &bufferedWriter{header: make(http.Header)}
		type result struct {
			err      error
			panicked any
		}
		done := make(chan result, 1)
		go func() {
			defer func() {
				if p := recover(); p != nil {
					done <- result{panicked: p}
				}
			}()
			done <- result{err: f(bw, r.WithContext(ctx))}
		}()
		select {
		case res := <-done:
			if res.panicked != nil {
				panic(res.panicked)
			}
			if res.err != nil {
				return res.err
			}
			bw.copyTo(w)
			return nil
		case <-deadline.Done():
			return deadline.Err()
		}
	}
}

// startBounded runs start within timeout. When it takes longer, the
// caller gets the deadline's error at once and the stream, if start still
// makes one, is closed when it does: a store call stuck on a dead link
// must not hold the request past its deadline.
func startBounded[S interface{ Close() }](ctx context.Context, timeout time.Duration, start func(context.Context) (S, error)) (S, error) {
	setup, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		stream S
		err    error
	}
	done := make(chan result, 1)
	go func() {
		s, err := start(setup)
		done <- result{s, err}
	}()
	select {
	case res := <-done:
		return res.stream, res.err
	case <-setup.Done():
		go func() {
			if res := <-done; res.err == nil {
				res.stream.Close()
			}
		}()
		var zero S
		return zero, setup.Err()
	}
}

// bufferedWriter holds an answer until it is known to be on time.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedWriter) copyTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}

package httpapi

import (
	"context"
	"net/http"
	"strings"
	"sync"
)

// healthz answers 200 while the process can serve HTTP at all.
func (h *Handler) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when every readiness check passes within the
// readiness timeout, else 503 naming the checks that failed. Checks run
// concurrently so that one slow dependency does not use up the others'
// time. Once the handler is closing, it answers 503 so that a load
// balancer stops sending new work while the instance drains.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	if h.closing.Err() != nil {
		writeErrorBody(w, http.StatusServiceUnavailable, codeNotReady, "not ready: shutting down")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.ReadinessTimeout)
	defer cancel()

	failed := make([]bool, len(h.readiness))
	var wg sync.WaitGroup
	for i, c := range h.readiness {
		wg.Go(func() {
			if err := c.Check(ctx); err != nil {
				failed[i] = true
				h.logger.WarnContext(ctx, "readiness check failed", "check", c.Name, "error", err)
			}
		})
	}
	wg.Wait()

	var names []string
	for i, c := range h.readiness {
		if failed[i] {
			names = append(names, c.Name)
		}
	}
	if len(names) > 0 {
		// Only the names: an error's text may describe the infrastructure.
		writeErrorBody(w, http.StatusServiceUnavailable, codeNotReady, "not ready: "+strings.Join(names, ", "))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

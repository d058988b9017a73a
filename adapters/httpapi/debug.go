package httpapi

import (
	"net/http"
	"net/http/pprof"
)

// NewDebugHandler serves net/http/pprof's profiles under /debug/pprof/:
// go tool pprof http://<DEBUG_ADDR>/debug/pprof/profile?seconds=30 for
// CPU, …/heap, …/goroutine?debug=2, …/trace?seconds=5. It carries no
// authentication, so it belongs on a loopback listener of its own, never
// on the API's address.
func NewDebugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // and every named profile
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

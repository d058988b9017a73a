package httpapi_test

import (
	"bytes"
	"net/http"
)

// recorder is a minimal ResponseWriter that supports flushing but not
// deadlines, like a test recorder or a wrapped writer may.
type recorder struct {
	header http.Header
	body   bytes.Buffer
	status int
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Flush()                      {}

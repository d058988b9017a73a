package web

import (
	"bytes"
	"crypto/sha256"
	_ "embed" // the page's files are compiled into the binary
	"encoding/base64"
	"maps"
	"net/http"
	"slices"
	"time"
)

var (
	//go:embed static/index.html
	indexHTML []byte
	//go:embed static/app.js
	appJS []byte
	//go:embed static/style.css
	styleCSS []byte
	//go:embed static/favicon.svg
	faviconSVG []byte
)

// ContentSecurityPolicy is sent with every file of the page: scripts,
// styles, images and connections (fetch, EventSource) from the page's own
// origin only; no inline script or style, no plugins, no framing.
const ContentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'; object-src 'none'"

// file is one embedded file and the headers it is served with.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// files maps each URL path of the page to its file. The content types are
// spelled out rather than looked up by extension, because the system's MIME
// tables differ from machine to machine.
func files() map[string]file {
	return map[string]file{
		"/":            {body: indexHTML, contentType: "text/html; charset=utf-8"},
		"/app.js":      {body: appJS, contentType: "text/javascript; charset=utf-8"},
		"/style.css":   {body: styleCSS, contentType: "text/css; charset=utf-8"},
		"/favicon.svg": {body: faviconSVG, contentType: "image/svg+xml"},
	}
}

// Paths returns the URL paths Handler serves, sorted. The router registers
// exactly these, so that every other path keeps the API's JSON 404.
func Paths() []string {
	return slices.Sorted(maps.Keys(files()))
}

// site serves the files of Paths.
type site map[string]file

// Handler returns the handler of the page's files (GET and HEAD of Paths).
// Every answer says Cache-Control: no-cache, so a browser revalidates with
// the file's ETag and never runs a stale script against a newer server.
func Handler() http.Handler {
	s := site(files())
	for p, f := range s {
		sum := sha256.Sum256(f.body)
		f.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
		s[p] = f
	}
	return s
}

func (s site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := s[r.URL.Path]
	if !ok {
		// Not reached behind Relay's router, which sends only Paths here.
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	// The page puts the token in the stream's URL (EventSource cannot set
	// headers): never let it leave in a Referer.
	h.Set("Referrer-Policy", "no-referrer")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

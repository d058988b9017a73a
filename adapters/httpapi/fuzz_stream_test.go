package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/relaymsg/relay/adapters/authtoken"
	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
)

// FuzzEventWriter checks the SSE framing against any id, event name and
// data: the writer either refuses a field that cannot be framed (CR, LF or
// NUL in the id or the name) or writes bytes that a parser following the
// WHATWG rules reads back as exactly one event with the same id, name and
// data (line breaks in data come back as LF, as the standard says).
func FuzzEventWriter(f *testing.F) {
	f.Add("AQEA", "message", []byte(`{"content":"hi"}`))
	f.Add("", "ready", []byte("a\r\nb\rc\nd"))
	f.Add("id", "x", []byte("\n\n\r\r\n"))
	f.Add(" lead", " name", []byte(" data: with: colons"))
	f.Add("a\x00b", "message", []byte("nul\x00inside"))
	f.Add("id", "ev\nil", []byte("data"))
	f.Fuzz(func(t *testing.T, id, name string, data []byte) {
		if !utf8.ValidString(id) || !utf8.ValidString(name) || !utf8.Valid(data) {
			t.Skip("the stream is UTF-8: Relay writes only UTF-8 fields")
		}
		rec := httptest.NewRecorder()
		err := httpapi.WriteEvent(rec, id, name, data)
		framable := !strings.ContainsAny(id, "\r\n\x00") && !strings.ContainsAny(name, "\r\n\x00")
		if !framable {
			if err == nil {
				t.Fatalf("WriteEvent(%q, %q) framed a field holding CR, LF or NUL: %q", id, name, rec.Body.String())
			}
			return
		}
		if err != nil {
			t.Fatalf("WriteEvent(%q, %q, %q): %v", id, name, data, err)
		}
		r := ssetest.NewReader(strings.NewReader(rec.Body.String()))
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("reading %q back: %v", rec.Body.String(), err)
		}
		wantName := name
		if wantName == "" {
			wantName = "message"
		}
		wantData := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
		if ev.Event != wantName || ev.Data != wantData || ev.HasID != (id != "") || ev.ID != id || !ev.IsDispatched() {
			t.Fatalf("wrote (id %q, event %q, data %q) as %q; read back (id %q %v, event %q, data %q)",
				id, name, data, rec.Body.String(), ev.ID, ev.HasID, ev.Event, ev.Data)
		}
		if rest, err := r.Next(); err != io.EOF {
			t.Fatalf("a second block after the event: %q, %v", rest.Raw, err)
		}
	})
}

// FuzzTokenParser checks that no token is accepted without an HS256
// signature made with the secret over its header and payload, whatever
// its bytes, and that the parser never panics.
func FuzzTokenParser(f *testing.F) {
	secret := []byte("fuzz-secret-0123456789-0123456789-abcdef")
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, sub := range []string{"u_alice", "svc_bot"} {
		tok, err := authtoken.Sign(secret, sub, sub == "svc_bot", time.Hour, now)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
		f.Add(tok[:len(tok)-1])
		f.Add(strings.Replace(tok, ".", "..", 1))
	}
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1X2FsaWNlIn0.")
	f.Add("")
	f.Add("...")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := httpapi.ParseToken(secret, token, now)
		if err != nil {
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted %q, which is not three parts", token)
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(parts[0] + "." + parts[1]))
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
			t.Fatalf("accepted %q without a valid HS256 signature", token)
		}
		header, err := base64.RawURLEncoding.DecodeString(parts[0])
		var h struct {
			Alg string `json:"alg"`
		}
		if err != nil || json.Unmarshal(header, &h) != nil || h.Alg != "HS256" {
			t.Fatalf("accepted %q whose header %q does not name HS256", token, header)
		}
		if p.UserID == "" {
			t.Fatalf("accepted %q without a subject", token)
		}
	})
}

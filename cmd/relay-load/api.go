package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/relaymsg/relay/adapters/authtoken"
)

// requestTimeout bounds every REST request of the run.
const requestTimeout = 30 * time.Second

// api is a client of Relay's REST endpoints (everything but the streams).
type api struct {
	base   string
	hc     *http.Client
	secret []byte
	ttl    time.Duration
}

// newAPI returns a client keeping up to conns keep-alive connections, one
// per concurrent caller, so that requests do not pay for a handshake.
func newAPI(base string, secret []byte, ttl time.Duration, conns int) *api {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &api{base: base, hc: &http.Client{Transport: tr, Timeout: requestTimeout}, secret: secret, ttl: ttl}
}

// close releases the client's idle connections.
func (a *api) close() { a.hc.CloseIdleConnections() }

// token returns a token for user that lasts the whole run.
func (a *api) token(user string) (string, error) {
	return authtoken.Sign(a.secret, user, false, a.ttl, time.Now())
}

// serviceToken returns a service token for user that lasts the whole run.
// The senders post with one, and the first of them creates the groups:
// they are the run's backends, and a user's rate limits (PUBLISH_RATE,
// 20/s by default) would throttle them at the default -rate of 200 over 4
// senders. The service limits (SERVICE_PUBLISH_RATE, 1000/s) are far
// above that; a faster run raises them on the server.
func (a *api) serviceToken(user string) (string, error) {
	return authtoken.Sign(a.secret, user, true, a.ttl, time.Now())
}

// statusError is an answer with an unexpected status.
type statusError struct {
	method, path string
	status       int
	body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.method, e.path, e.status, e.body)
}

// do sends in (JSON, unless nil) to path with token and decodes the answer
// into out (unless nil). Any status but want is a *statusError.
func (a *api) do(ctx context.Context, method, path, token string, in, out any, want int) error {
	_, err := a.exchange(ctx, method, path, token, in, out, want)
	return err
}

// exchange is do that also returns the answer's headers.
func (a *api) exchange(ctx context.Context, method, path, token string, in, out any, want int) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return nil, &statusError{method: method, path: path, status: resp.StatusCode, body: string(bytes.TrimSpace(snippet))}
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.Header, err
	}
	return resp.Header, json.NewDecoder(resp.Body).Decode(out)
}

// createGroup creates a group named name with members (the caller joins
// too) and returns its id.
func (a *api) createGroup(ctx context.Context, token, name string, members []string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	in := map[string]any{"name": name, "memberIds": members}
	if err := a.do(ctx, http.MethodPost, "/api/groups", token, in, &out, http.StatusCreated); err != nil {
		return "", err
	}
	return out.ID, nil
}

// addMember adds user to group.
func (a *api) addMember(ctx context.Context, token, group, user string) error {
	path := "/api/groups/" + url.PathEscape(group) + "/members"
	return a.do(ctx, http.MethodPost, path, token, map[string]string{"userId": user}, nil, http.StatusNoContent)
}

// postMessage posts content to group and returns the message's seq.
func (a *api) postMessage(ctx context.Context, token, group, content, clientID string) (int64, error) {
	var out struct {
		Seq int64 `json:"seq"`
	}
	in := map[string]string{"groupId": group, "content": content, "clientMessageId": clientID}
	if err := a.do(ctx, http.MethodPost, "/api/messages", token, in, &out, http.StatusCreated); err != nil {
		return 0, err
	}
	return out.Seq, nil
}

// lastSeqs returns the last seq of each of the caller's conversations, by
// id: the server's own count of what was stored. The list comes a page at
// a time (the creator of more than a page of groups needs them all):
// X-Next-Cursor names the next page, and the last page has none.
func (a *api) lastSeqs(ctx context.Context, token string) (map[string]int64, error) {
	const page = "/api/conversations?limit=500"
	seqs := make(map[string]int64)
	for path := page; path != ""; {
		var out []struct {
			ID      string `json:"id"`
			LastSeq int64  `json:"lastSeq"`
		}
		header, err := a.exchange(ctx, http.MethodGet, path, token, nil, &out, http.StatusOK)
		if err != nil {
			return nil, err
		}
		for _, c := range out {
			seqs[c.ID] = c.LastSeq
		}
		path = ""
		if next := header.Get("X-Next-Cursor"); next != "" {
			path = page + "&after=" + url.QueryEscape(next)
		}
	}
	return seqs, nil
}

// metrics returns the server's unlabelled /metrics samples.
func (a *api) metrics(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{method: http.MethodGet, path: "/metrics", status: resp.StatusCode}
	}
	return parseMetrics(resp.Body)
}

package ssetest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Options tell Open how to authenticate and where to resume.
type Options struct {
	// Token is sent as "Authorization: Bearer"; QueryToken sends it as the
	// access_token parameter instead.
	Token      string
	QueryToken bool
	// LastEventID is sent as the Last-Event-ID header when set.
	LastEventID string
	// Header holds any other request headers.
	Header http.Header
}

// Client is one open SSE stream. Close it when done.
type Client struct {
	// Response is the stream's response; its body is read by Next.
	Response *http.Response
	*Reader
}

// Open requests the stream of channels from baseURL's /api/sse with hc
// (http.DefaultClient when nil) and returns once the response headers
// arrived, whatever the status: a test checks Response.StatusCode. ctx
// bounds the whole stream: cancelling it ends a blocked Next.
func Open(ctx context.Context, hc *http.Client, baseURL string, channels []string, opts Options) (*Client, error) {
	q := url.Values{"channel": channels}
	if opts.QueryToken && opts.Token != "" {
		q.Set("access_token", opts.Token)
	}
	return OpenURL(ctx, hc, baseURL+"/api/sse?"+q.Encode(), opts)
}

// OpenURL is Open for a complete URL, for tests that build the query
// themselves.
func OpenURL(ctx context.Context, hc *http.Client, rawURL string, opts Options) (*Client, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	for k, vs := range opts.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("Accept", "text/event-stream")
	if opts.Token != "" && !opts.QueryToken {
		req.Header.Set("Authorization", "Bearer "+opts.Token)
	}
	if opts.LastEventID != "" {
		req.Header.Set("Last-Event-ID", opts.LastEventID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("open stream: %w", err)
	}
	return &Client{Response: resp, Reader: NewReader(resp.Body)}, nil
}

// Close closes the stream's body, which ends the request.
func (c *Client) Close() error { return c.Response.Body.Close() }

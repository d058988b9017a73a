package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/relaymsg/relay/adapters/authtoken"
	"github.com/relaymsg/relay/domain"
)

// accessTokenParam is the query parameter that carries the token on
// GET /api/sse, for browsers' EventSource, which cannot set headers.
const accessTokenParam = "access_token"

// authenticator validates bearer tokens.
type authenticator struct {
	now    func() time.Time
	parser *authtoken.Parser
}

func newAuthenticator(secret []byte, now func() time.Time) *authenticator {
	// HS256 only, exp checked when present; a token without it never
	// expires (see the package doc).
	return &authenticator{now: now, parser: authtoken.NewParser(secret, now)}
}

var errUnauthorized = &apiError{status: http.StatusUnauthorized, code: codeUnauthorized,
	message: "a valid bearer token is required"}

// principal validates token and returns its caller.
func (a *authenticator) principal(token string) (domain.Principal, error) {
	return a.parser.Parse(token)
}

// requireAuth lets through requests with a valid token and answers the
// others 401. allowQuery also accepts the token as the access_token query
// parameter; only the SSE stream sets it, so that tokens are not invited
// into URLs (and so into proxies' logs) anywhere else.
func (h *Handler) requireAuth(allowQuery bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok && allowQuery {
			token = r.URL.Query().Get(accessTokenParam)
			ok = token != ""
		}
		if !ok {
			h.respondError(w, r, errUnauthorized)
			return
		}
		p, err := h.auth.principal(token)
		if err != nil {
			h.logger.DebugContext(r.Context(), "token rejected", requestAttrs(r, "error", err)...)
			h.respondError(w, r, errUnauthorized)
			return
		}
		if info := infoOf(r); info != nil {
			info.userID = p.UserID
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// bearerToken returns the token of an "Authorization: Bearer" header; the
// scheme is case-insensitive (RFC 7235).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

type principalKey struct{}

// principalOf returns the caller requireAuth stored in r's context.
func principalOf(r *http.Request) domain.Principal {
	p, _ := r.Context().Value(principalKey{}).(domain.Principal)
	return p
}

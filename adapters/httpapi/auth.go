package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaymsg/relay/domain"
)

// accessTokenParam is the query parameter that carries the token on
// GET /api/sse, for browsers' EventSource, which cannot set headers.
const accessTokenParam = "access_token"

// tokenClaims are the claims Relay reads: the registered ones (sub, exp)
// and the service-token flag.
type tokenClaims struct {
	jwt.RegisteredClaims
	Admin bool `json:"admin,omitempty"`
}

// authenticator validates bearer tokens.
type authenticator struct {
	secret []byte
	now    func() time.Time
	parser *jwt.Parser
}

func newAuthenticator(secret []byte, now func() time.Time) *authenticator {
	return &authenticator{
		secret: secret,
		now:    now,
		// HS256 only: accepting whatever alg the token names is how "none"
		// and RS256-with-the-secret-as-public-key forgeries get in. exp is
		// checked when present; a token without it never expires (see the
		// package doc).
		parser: jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithTimeFunc(now)),
	}
}

var errUnauthorized = &apiError{status: http.StatusUnauthorized, code: codeUnauthorized,
	message: "a valid bearer token is required"}

// principal validates token and returns its caller.
func (a *authenticator) principal(token string) (domain.Principal, error) {
	var claims tokenClaims
	if _, err := a.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return a.secret, nil }); err != nil {
		return domain.Principal{}, err
	}
	if err := domain.ValidateUserID("sub", domain.UserID(claims.Subject)); err != nil {
		return domain.Principal{}, err
	}
	p := domain.Principal{UserID: domain.UserID(claims.Subject), Admin: claims.Admin}
	if claims.ExpiresAt != nil {
		p.ExpiresAt = claims.ExpiresAt.Time
	}
	return p, nil
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

// SignToken returns an HS256 token for sub, a service token when admin.
// A positive ttl sets exp to now+ttl; a negative one makes a token that has
// already expired (for tests); zero makes a token without exp, which never
// expires. It is what `relay token` and the tests use.
func SignToken(secret []byte, sub string, admin bool, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("sign token: the secret is empty")
	}
	if err := domain.ValidateUserID("sub", domain.UserID(sub)); err != nil {
		return "", err
	}
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: sub, IssuedAt: jwt.NewNumericDate(now)},
		Admin:            admin,
	}
	if ttl != 0 {
		claims.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}

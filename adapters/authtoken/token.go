package authtoken

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaymsg/relay/domain"
)

// claims are the claims Relay reads: the registered ones (sub, exp) and
// the service-token flag.
type claims struct {
	jwt.RegisteredClaims
	Admin bool `json:"admin,omitempty"`
}

// Sign returns an HS256 token for sub, a service token when admin. A
// positive ttl sets exp to now+ttl; a negative one makes a token that has
// already expired (for tests); zero makes a token without exp, which never
// expires.
func Sign(secret []byte, sub string, admin bool, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("sign token: the secret is empty")
	}
	if err := domain.ValidateUserID("sub", domain.UserID(sub)); err != nil {
		return "", err
	}
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: sub, IssuedAt: jwt.NewNumericDate(now)},
		Admin:            admin,
	}
	if ttl != 0 {
		c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}

// Parser validates tokens signed with one secret.
type Parser struct {
	secret []byte
	parser *jwt.Parser
}

// NewParser returns a Parser of tokens signed with secret, checking exp
// against now (time.Now when nil).
func NewParser(secret []byte, now func() time.Time) *Parser {
	if now == nil {
		now = time.Now
	}
	return &Parser{
		secret: secret,
		// HS256 only: accepting whatever alg the token names is how "none"
		// and RS256-with-the-secret-as-public-key forgeries get in. exp is
		// checked when present; a token without it never expires.
		parser: jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithTimeFunc(now)),
	}
}

// Parse validates token and returns its caller: an error when the
// signature, the algorithm, exp or sub is wrong.
func (p *Parser) Parse(token string) (domain.Principal, error) {
	var c claims
	if _, err := p.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return p.secret, nil }); err != nil {
		return domain.Principal{}, err
	}
	if err := domain.ValidateUserID("sub", domain.UserID(c.Subject)); err != nil {
		return domain.Principal{}, err
	}
	pr := domain.Principal{UserID: domain.UserID(c.Subject), Admin: c.Admin}
	if c.ExpiresAt != nil {
		pr.ExpiresAt = c.ExpiresAt.Time
	}
	return pr, nil
}

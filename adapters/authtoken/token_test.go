package authtoken_test

import (
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaymsg/relay/adapters/authtoken"
)

var testSecret = []byte("authtoken-test-secret-0123456789-abcdef")

func TestSignRefusesBadInput(t *testing.T) {
	t.Parallel()
	if _, err := authtoken.Sign(nil, "u_alice", false, time.Hour, time.Now()); err == nil {
		t.Error("empty secret: no error")
	}
	if _, err := authtoken.Sign(testSecret, "", false, time.Hour, time.Now()); err == nil {
		t.Error("empty sub: no error")
	}
}

// Sign's claims are what the HTTP middleware reads back: sub, admin, exp.
func TestSignClaims(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tok, err := authtoken.Sign(testSecret, "svc", true, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return testSecret, nil }); err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != "svc" || claims["admin"] != true || claims["exp"] != float64(now.Add(time.Minute).Unix()) {
		t.Errorf("claims = %v", claims)
	}
	tok, _ = authtoken.Sign(testSecret, "u_alice", false, 0, now)
	claims = jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return testSecret, nil }); err != nil {
		t.Fatal(err)
	}
	if _, ok := claims["exp"]; ok {
		t.Errorf("ttl 0 set exp: %v", claims)
	}
	if _, ok := claims["admin"]; ok {
		t.Errorf("non-admin token has an admin claim: %v", claims)
	}
}

// TestParse: a signed token reads back as its principal; tokens that are
// forged, expired or not Relay's are refused.
func TestParse(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	p := authtoken.NewParser(testSecret, func() time.Time { return now })
	tok, err := authtoken.Sign(testSecret, "svc_bot", true, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Parse(tok)
	if err != nil || got.UserID != "svc_bot" || !got.Admin || !got.ExpiresAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("Parse = %+v, %v", got, err)
	}
	forever, _ := authtoken.Sign(testSecret, "u_alice", false, 0, now)
	if got, err := p.Parse(forever); err != nil || got.UserID != "u_alice" || got.Admin || !got.ExpiresAt.IsZero() {
		t.Fatalf("Parse(no exp) = %+v, %v", got, err)
	}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	expired, _ := authtoken.Sign(testSecret, "u_alice", false, -time.Second, now)
	other, _ := authtoken.Sign([]byte("another secret"), "u_alice", false, time.Hour, now)
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	future := now.Add(time.Hour).Unix()
	for name, tok := range map[string]string{
		"garbage":       "not.a.jwt",
		"expired":       expired,
		"other secret":  other,
		"alg none":      sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "u_alice", "exp": future}),
		"RS256":         sign(jwt.SigningMethodRS256, rsaKey, jwt.MapClaims{"sub": "u_alice", "exp": future}),
		"HS512":         sign(jwt.SigningMethodHS512, testSecret, jwt.MapClaims{"sub": "u_alice", "exp": future}),
		"no sub":        sign(jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"exp": future}),
		"malformed sub": sign(jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "u alice"}),
	} {
		if got, err := p.Parse(tok); err == nil {
			t.Errorf("%s: accepted as %+v", name, got)
		}
	}
}

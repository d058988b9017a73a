package httpapi

import (
	"net/http"
	"time"

	"github.com/relaymsg/relay/adapters/authtoken"
	"github.com/relaymsg/relay/domain"
)

// DevTokenTTL is the lifetime of a token from POST /dev/token: a working
// day of trying Relay out, and no longer.
const DevTokenTTL = 12 * time.Hour

type devTokenRequest struct {
	Sub *string `json:"sub"`
}

type devTokenResponse struct {
	Token     string `json:"token"`
	Sub       string `json:"sub"`
	ExpiresAt string `json:"expiresAt"`
}

// devToken: POST /dev/token {"sub": "u_alice"} → 200 with a user token
// for sub, signed with the service's secret. The route exists only in
// development mode (Config.DevTokens): anyone who can reach it can act as
// anyone, which is the point on a laptop and a hole anywhere else. It
// never issues service tokens.
func (h *Handler) devToken(w http.ResponseWriter, r *http.Request) error {
	var req devTokenRequest
	if err := decodeJSON(w, r, h.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.Sub == nil {
		return required("sub")
	}
	if err := domain.ValidateUserID("sub", domain.UserID(*req.Sub)); err != nil {
		return err
	}
	now := h.auth.now()
	tok, err := authtoken.Sign(h.cfg.AuthSecret, *req.Sub, false, DevTokenTTL, now)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, devTokenResponse{
		Token: tok, Sub: *req.Sub, ExpiresAt: now.Add(DevTokenTTL).UTC().Format(time.RFC3339),
	})
	return nil
}

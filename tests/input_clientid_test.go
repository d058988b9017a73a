package tests

import (
	"net/http"
	"strings"
	"testing"
)

// TestClientMessageIDAndPersonaCountCharacters checks that the limits of
// clientMessageId (64) and personaId (128) count characters, not bytes, on
// both stores.
func TestClientMessageIDAndPersonaCountCharacters(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, a *testApp) {
		alice := newUser(t, "u_alice")
		g := a.createGroup(t, alice, "Team")
		tests := []struct {
			name, clientID, persona string
			accepted                bool
		}{
			{"64 two-byte client id characters", strings.Repeat("é", 64), "", true},
			{"64 four-byte client id characters", strings.Repeat("😀", 64), "", true},
			{"65 two-byte client id characters", strings.Repeat("é", 65), "", false},
			{"128 two-byte persona characters", "", strings.Repeat("ü", 128), true},
			{"128 three-byte persona characters", "", strings.Repeat("€", 128), true},
			{"129 two-byte persona characters", "", strings.Repeat("ü", 129), false},
		}
		stored := int64(0)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				body := messageBody(g, "hi")
				if tt.clientID != "" {
					body["clientMessageId"] = tt.clientID
				}
				if tt.persona != "" {
					body["personaId"] = tt.persona
				}
				r := a.do(t, http.MethodPost, "/api/messages", alice.token, body)
				if !tt.accepted {
					wantError(t, r, http.StatusBadRequest, "validation_failed")
					return
				}
				var m message
				expect(t, r, http.StatusCreated, &m)
				stored++
				if tt.clientID != "" && (m.ClientMessageID == nil || *m.ClientMessageID != tt.clientID) {
					t.Fatalf("clientMessageId stored as %v, want %q", m.ClientMessageID, tt.clientID)
				}
				if tt.persona != "" && (m.PersonaID == nil || *m.PersonaID != tt.persona) {
					t.Fatalf("personaId stored as %v, want %q", m.PersonaID, tt.persona)
				}
			})
		}
		if got := find(t, a.conversations(t, alice), g.ID).LastSeq; got != stored {
			t.Fatalf("lastSeq %d after %d accepted messages", got, stored)
		}
	})
}

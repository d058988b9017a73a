package tests

import (
	"net/http"
	"strings"
	"testing"
)

// TestControlCharactersInContentAndNames checks that NUL in content or in a
// group name, and the C0 controls other than tab, LF and CR in content,
// are refused as validation_failed naming the field, identically on both
// stores (PostgreSQL cannot store NUL in text at all), and that nothing is
// stored; tab, LF and CR inside content are kept.
func TestControlCharactersInContentAndNames(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, a *testApp) {
		alice := newUser(t, "u_alice")
		g := a.createGroup(t, alice, "Team")
		refused := []struct {
			name, path, field string
			body              map[string]any
		}{
			{"NUL in content", "/api/messages", "content", messageBody(g, "a\x00b")},
			{"only NUL", "/api/messages", "content", messageBody(g, "\x00")},
			{"SOH in content", "/api/messages", "content", messageBody(g, "a\x01b")},
			{"ESC in content", "/api/messages", "content", messageBody(g, "\x1b[31mred")},
			{"unit separator in content", "/api/messages", "content", messageBody(g, "a\x1fb")},
			{"NUL in a group name", "/api/groups", "name", map[string]any{"name": "Te\x00am", "memberIds": []string{}}},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				r := a.do(t, http.MethodPost, tt.path, alice.token, tt.body)
				wantError(t, r, http.StatusBadRequest, "validation_failed")
				if msg := errorMessage(t, r); !strings.HasPrefix(msg, tt.field+": ") {
					t.Fatalf("message %q does not name the field %s", msg, tt.field)
				}
			})
		}
		if list := a.conversations(t, alice); len(list) != 1 || list[0].LastSeq != 0 {
			t.Fatalf("after the refused requests alice has %+v, want only her group, with no message", list)
		}
		const kept = "line one\n\tindented\r\nline three"
		if m := a.send(t, alice, g, kept); m.Content != kept || m.Seq != 1 {
			t.Fatalf("content %q stored as %q with seq %d, want it as is with seq 1", kept, m.Content, m.Seq)
		}
	})
}

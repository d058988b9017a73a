package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/relaymsg/relay/domain"
)

func TestNewMessage(t *testing.T) {
	t.Parallel()
	channel := domain.DMChannel("dm_1")
	tests := []struct {
		name            string
		content         string
		personaID       string
		clientMessageID string
		wantContent     string
		wantField       string // the ValidationError's field; empty when valid
	}{
		{name: "plain", content: "hi", wantContent: "hi"},
		{name: "trimmed", content: " \t\n hi there \r\n", wantContent: "hi there"},
		{name: "inner white space kept", content: "a\n\nb", wantContent: "a\n\nb"},
		{name: "tab, LF and CR inside kept", content: "a\tb\r\nc", wantContent: "a\tb\r\nc"},
		{name: "DEL and C1 controls kept", content: "a\x7fb\u0085c", wantContent: "a\x7fb\u0085c"},
		{name: "4000 characters", content: strings.Repeat("a", 4000), wantContent: strings.Repeat("a", 4000)},
		{name: "4000 characters after trimming", content: "  " + strings.Repeat("a", 4000) + "  ", wantContent: strings.Repeat("a", 4000)},
		{name: "4000 multibyte characters", content: strings.Repeat("é", 4000), wantContent: strings.Repeat("é", 4000)},
		{name: "4000 emoji (16000 bytes)", content: strings.Repeat("😀", 4000), wantContent: strings.Repeat("😀", 4000)},
		{name: "with persona and client id", content: "hi", personaID: "p_42", clientMessageID: "c-123", wantContent: "hi"},
		{name: "client id of 64 bytes", content: "hi", clientMessageID: strings.Repeat("c", 64), wantContent: "hi"},
		{name: "persona of 128 bytes", content: "hi", personaID: strings.Repeat("p", 128), wantContent: "hi"},
		{name: "client id of 64 two-byte characters", content: "hi", clientMessageID: strings.Repeat("é", 64), wantContent: "hi"},
		{name: "client id of 64 emoji", content: "hi", clientMessageID: strings.Repeat("😀", 64), wantContent: "hi"},
		{name: "persona of 128 three-byte characters", content: "hi", personaID: strings.Repeat("€", 128), wantContent: "hi"},

		{name: "empty", content: "", wantField: "content"},
		{name: "white space only", content: " \t\r\n\u00a0\u3000 ", wantField: "content"},
		{name: "4001 characters", content: strings.Repeat("a", 4001), wantField: "content"},
		{name: "4001 multibyte characters", content: strings.Repeat("é", 4001), wantField: "content"},
		{name: "invalid UTF-8", content: "hi \xff", wantField: "content"},
		{name: "NUL", content: "a\x00b", wantField: "content"},
		{name: "NUL only", content: "\x00", wantField: "content"},
		{name: "SOH", content: "a\x01b", wantField: "content"},
		{name: "ESC", content: "\x1b[31mred", wantField: "content"},
		{name: "unit separator", content: "a\x1fb", wantField: "content"},
		{name: "client id of 65 bytes", content: "hi", clientMessageID: strings.Repeat("c", 65), wantField: "clientMessageId"},
		{name: "client id with a newline", content: "hi", clientMessageID: "c\n1", wantField: "clientMessageId"},
		{name: "client id with NUL", content: "hi", clientMessageID: "c\x001", wantField: "clientMessageId"},
		{name: "persona of 129 bytes", content: "hi", personaID: strings.Repeat("p", 129), wantField: "personaId"},
		{name: "client id of 65 two-byte characters", content: "hi", clientMessageID: strings.Repeat("é", 65), wantField: "clientMessageId"},
		{name: "persona of 129 two-byte characters", content: "hi", personaID: strings.Repeat("ü", 129), wantField: "personaId"},
		{name: "persona with DEL", content: "hi", personaID: "p\x7f", wantField: "personaId"},
		{name: "persona invalid UTF-8", content: "hi", personaID: "p\xff", wantField: "personaId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := domain.NewMessage(channel, "u_alice", tt.content, tt.personaID, tt.clientMessageID)
			if tt.wantField != "" {
				var ve *domain.ValidationError
				if !errors.As(err, &ve) || !errors.Is(err, domain.ErrInvalid) {
					t.Fatalf("NewMessage = %+v, %v; want a ValidationError", m, err)
				}
				if ve.Field != tt.wantField {
					t.Fatalf("field = %q, want %q", ve.Field, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewMessage: %v", err)
			}
			want := domain.Message{Channel: channel, SenderID: "u_alice", PersonaID: tt.personaID,
				Content: tt.wantContent, ClientMessageID: tt.clientMessageID}
			if m != want {
				t.Fatalf("NewMessage = %+v, want %+v", m, want)
			}
		})
	}
}

func TestMessageSameRequest(t *testing.T) {
	t.Parallel()
	base := domain.Message{ID: "msg_1", Channel: domain.DMChannel("dm_1"), Seq: 4, SenderID: "u_alice",
		PersonaID: "p_1", Content: "hi", ClientMessageID: "c-1"}
	tests := []struct {
		name  string
		other func(m domain.Message) domain.Message
		want  bool
	}{
		{"same request without id and seq", func(m domain.Message) domain.Message { m.ID, m.Seq = "", 0; return m }, true},
		{"other channel", func(m domain.Message) domain.Message { m.Channel = domain.DMChannel("dm_2"); return m }, false},
		{"other kind of channel", func(m domain.Message) domain.Message { m.Channel = domain.GroupChannel("dm_1"); return m }, false},
		{"other content", func(m domain.Message) domain.Message { m.Content = "hello"; return m }, false},
		{"other persona", func(m domain.Message) domain.Message { m.PersonaID = ""; return m }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := base.SameRequest(tt.other(base)); got != tt.want {
				t.Fatalf("SameRequest = %v, want %v", got, tt.want)
			}
		})
	}
}

package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/relaymsg/relay/domain"
)

// messageJSON is a message as API.md shows it, in POST /api/messages
// answers, history pages and SSE message events alike.
type messageJSON struct {
	ID              string  `json:"id"`
	Channel         string  `json:"channel"`
	Seq             int64   `json:"seq"`
	DirectMessageID *string `json:"directMessageId"`
	GroupID         *string `json:"groupId"`
	SenderID        string  `json:"senderId"`
	PersonaID       *string `json:"personaId"`
	Content         string  `json:"content"`
	ClientMessageID *string `json:"clientMessageId"`
	CreatedAt       string  `json:"createdAt"`
}

func toMessageJSON(m domain.Message) messageJSON {
	id := string(m.Channel.ID)
	out := messageJSON{
		ID:              m.ID,
		Channel:         m.Channel.String(),
		Seq:             m.Seq,
		SenderID:        string(m.SenderID),
		PersonaID:       optional(m.PersonaID),
		Content:         m.Content,
		ClientMessageID: optional(m.ClientMessageID),
		CreatedAt:       formatTime(m.CreatedAt),
	}
	if m.Channel.Kind == domain.KindGroup {
		out.GroupID = &id
	} else {
		out.DirectMessageID = &id
	}
	return out
}

// encodeMessage returns the JSON of m on one line, without a trailing
// newline: the bytes of an SSE data field and of a REST answer alike.
func encodeMessage(m domain.Message) ([]byte, error) {
	return json.Marshal(toMessageJSON(m))
}

// conversationJSON is a conversation as API.md shows it. Name is present
// for groups only.
type conversationJSON struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Name      *string  `json:"name,omitempty"`
	MemberIDs []string `json:"memberIds"`
	CreatedAt string   `json:"createdAt"`
	LastSeq   int64    `json:"lastSeq"`
}

func toConversationJSON(c domain.Conversation) conversationJSON {
	members := make([]string, len(c.MemberIDs))
	for i, m := range c.MemberIDs {
		members[i] = string(m)
	}
	out := conversationJSON{
		ID:        string(c.ID),
		Kind:      string(c.Kind),
		MemberIDs: members,
		CreatedAt: formatTime(c.CreatedAt),
		LastSeq:   c.LastSeq,
	}
	if c.Kind == domain.KindGroup {
		name := c.Name
		out.Name = &name
	}
	return out
}

// memberConversationJSON is one item of GET /api/conversations: the
// conversation with the caller's view of it. Only the list has that view
// (the store's ListForMember sets it), so the answers of POST /api/dms and
// /api/groups, whose existing DM would otherwise claim 0 and 0, keep to
// conversationJSON.
type memberConversationJSON struct {
	conversationJSON
	ReadSeq     int64 `json:"readSeq"`
	UnreadCount int64 `json:"unreadCount"`
}

func toMemberConversationJSON(c domain.Conversation) memberConversationJSON {
	return memberConversationJSON{conversationJSON: toConversationJSON(c), ReadSeq: c.ReadSeq, UnreadCount: c.UnreadCount}
}

// formatTime renders t as RFC 3339 in UTC, as the API promises whatever
// zone the store returned.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// optional maps the domain's "empty means absent" to JSON null.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// writeJSON answers v as JSON with status. It marshals before writing
// anything, so that a value that cannot be encoded is still answered with a
// proper error instead of half a body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	writeRawJSON(w, status, body)
}

// writeRawJSON answers body, which is already JSON, with status.
func writeRawJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte{'\n'})
}

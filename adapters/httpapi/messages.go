package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
)

type sendMessageRequest struct {
	DirectMessageID *string `json:"directMessageId"`
	GroupID         *string `json:"groupId"`
	Content         *string `json:"content"`
	PersonaID       *string `json:"personaId"`
	ClientMessageID *string `json:"clientMessageId"`
}

// sendMessage: POST /api/messages → 201 with the stored message, or 200
// with the original one when the request is a retry (same sender and
// clientMessageId). The answer comes only after the use case reports the
// message committed.
func (h *Handler) sendMessage(w http.ResponseWriter, r *http.Request) error {
	var req sendMessageRequest
	if err := decodeJSON(w, r, h.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	channel, err := bodyChannel(req.DirectMessageID, req.GroupID)
	if err != nil {
		return err
	}
	if req.Content == nil {
		return required("content")
	}
	res, err := h.uc.SendMessage.Execute(r.Context(), application.SendMessageCommand{
		Principal:       principalOf(r),
		Channel:         channel,
		Content:         *req.Content,
		PersonaID:       deref(req.PersonaID),
		ClientMessageID: deref(req.ClientMessageID),
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
		h.metrics.messagesSent.Inc()
	}
	// The same bytes an SSE message event carries, from the same cache.
	body, err := h.cache.encode(res.Message)
	if err != nil {
		return fmt.Errorf("encode message %s: %w", res.Message.ID, err)
	}
	writeRawJSON(w, status, body)
	return nil
}

// bodyChannel returns the channel named by exactly one of the two ids.
func bodyChannel(dmID, groupID *string) (domain.ChannelID, error) {
	switch {
	case dmID != nil && groupID != nil:
		return domain.ChannelID{}, badRequest(codeValidation, "directMessageId, groupId: give exactly one, not both")
	case dmID != nil:
		id, err := conversationID(*dmID)
		return domain.DMChannel(id), err
	case groupID != nil:
		id, err := conversationID(*groupID)
		return domain.GroupChannel(id), err
	}
	return domain.ChannelID{}, badRequest(codeValidation, "directMessageId, groupId: exactly one is required")
}

// listMessages: GET /api/messages?directMessageId=…|groupId=…&limit=&after=|before=
// → 200, a page oldest first ([] when empty).
func (h *Handler) listMessages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	channel, err := queryChannel(q)
	if err != nil {
		return err
	}
	page, err := queryHistoryPage(q)
	if err != nil {
		return err
	}
	history, err := domain.NewHistoryQuery(channel, page)
	if err != nil {
		return err
	}
	msgs, err := h.uc.ListMessages.Execute(r.Context(), application.ListMessagesQuery{
		Principal: principalOf(r), History: history,
	})
	if err != nil {
		return err
	}
	out := make([]messageJSON, len(msgs))
	for i, m := range msgs {
		out[i] = toMessageJSON(m)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// queryChannel returns the channel named by exactly one of the
// directMessageId and groupId parameters.
func queryChannel(q url.Values) (domain.ChannelID, error) {
	var dmID, groupID *string
	for name, dst := range map[string]**string{"directMessageId": &dmID, "groupId": &groupID} {
		switch vs := q[name]; len(vs) {
		case 0:
		case 1:
			*dst = &vs[0]
		default:
			return domain.ChannelID{}, badRequest(codeValidation, name+": give it once")
		}
	}
	return bodyChannel(dmID, groupID)
}

// queryHistoryPage parses the limit, after and before parameters into
// numbers; domain.NewHistoryQuery checks them. A limit that is not one
// integer breaks the same rule as one out of range. The answer names the
// first parameter at fault, in the order limit, after, before: before a
// parameter that does not parse, a rule broken by those parsed before it.
func queryHistoryPage(q url.Values) (domain.HistoryPage, error) {
	var page domain.HistoryPage
	fail := func(parseErr error) (domain.HistoryPage, error) {
		if _, err := domain.NewHistoryQuery(domain.ChannelID{}, page); err != nil {
			return domain.HistoryPage{}, err
		}
		return domain.HistoryPage{}, parseErr
	}
	if vs, ok := q["limit"]; ok {
		n, err := strconv.ParseInt(vs[0], 10, 64)
		if len(vs) != 1 || err != nil {
			return domain.HistoryPage{}, domain.InvalidHistoryLimit()
		}
		page.Limit = &n
	}
	for _, p := range []struct {
		name string
		dst  **int64
	}{{"after", &page.After}, {"before", &page.Before}} {
		vs, ok := q[p.name]
		if !ok {
			continue
		}
		if len(vs) != 1 {
			return fail(badRequest(codeValidation, p.name+": give it once"))
		}
		n, err := strconv.ParseInt(vs[0], 10, 64)
		if err != nil {
			return fail(badRequest(codeValidation, p.name+": must be a non-negative integer"))
		}
		*p.dst = &n
	}
	return page, nil
}

// queryLimit parses the page size parameter limit: def when absent, and
// otherwise an integer from 1 to hi. limit=0 would reach a use case as "the
// default": the contract wants every value out of range refused, not
// clamped or defaulted.
func queryLimit(q url.Values, def, hi int) (int, error) {
	limit, err := queryInt(q, "limit", int64(def))
	if err != nil || limit < 1 || limit > int64(hi) {
		return 0, badRequest(codeValidation, fmt.Sprintf("limit: must be an integer from 1 to %d", hi))
	}
	return int(limit), nil
}

// queryInt parses the non-negative integer parameter name, def when absent.
func queryInt(q url.Values, name string, def int64) (int64, error) {
	vs, ok := q[name]
	if !ok {
		return def, nil
	}
	if len(vs) != 1 {
		return 0, badRequest(codeValidation, name+": give it once")
	}
	n, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest(codeValidation, name+": must be a non-negative integer")
	}
	return n, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

package httpapi

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
)

type createDirectMessageRequest struct {
	MemberIDs *[]domain.UserID `json:"memberIds"`
}

// createDirectMessage: POST /api/dms → 201 with a new DM, 200 with the
// pair's existing one.
func (h *Handler) createDirectMessage(w http.ResponseWriter, r *http.Request) error {
	var req createDirectMessageRequest
	if err := decodeJSON(w, r, h.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.MemberIDs == nil {
		return required("memberIds")
	}
	dm, created, err := h.uc.CreateDirectMessage.Execute(r.Context(), application.CreateDirectMessageCommand{
		Principal: principalOf(r), MemberIDs: *req.MemberIDs,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toConversationJSON(dm))
	return nil
}

type createGroupRequest struct {
	Name *string `json:"name"`
	// MemberIDs may be left out: the caller alone makes a valid group.
	MemberIDs []domain.UserID `json:"memberIds"`
}

// createGroup: POST /api/groups → 201.
func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) error {
	var req createGroupRequest
	if err := decodeJSON(w, r, h.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return required("name")
	}
	group, err := h.uc.CreateGroup.Execute(r.Context(), application.CreateGroupCommand{
		Principal: principalOf(r), Name: *req.Name, MemberIDs: req.MemberIDs,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toConversationJSON(group))
	return nil
}

type addMemberRequest struct {
	UserID *domain.UserID `json:"userId"`
}

// addMember: POST /api/groups/{id}/members → 204.
func (h *Handler) addMember(w http.ResponseWriter, r *http.Request) error {
	group, err := pathConversationID(r)
	if err != nil {
		return err
	}
	var req addMemberRequest
	if err := decodeJSON(w, r, h.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.UserID == nil {
		return required("userId")
	}
	if err := h.uc.AddMember.Execute(r.Context(), application.AddMemberCommand{
		Principal: principalOf(r), GroupID: group, UserID: *req.UserID,
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeMember: DELETE /api/groups/{id}/members/{userId} → 204.
func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request) error {
	group, err := pathConversationID(r)
	if err != nil {
		return err
	}
	user, ok := pathVar(r, "userId")
	if !ok {
		return domain.Invalid("userId", "is not a valid percent-encoded path segment")
	}
	if err := h.uc.RemoveMember.Execute(r.Context(), application.RemoveMemberCommand{
		Principal: principalOf(r), GroupID: group, UserID: domain.UserID(user),
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listConversations: GET /api/conversations?limit=&after= → 200, one page
// of the caller's conversations as an array ([] when there are none),
// newest first. When more follow, the answer links to the next page, in a
// Link header (rel="next", RFC 8288, as GitHub pages) and as the bare
// cursor in X-Next-Cursor; the last page has neither.
func (h *Handler) listConversations(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := queryLimit(q, domain.DefaultConversationPageSize, domain.MaxConversationPageSize)
	if err != nil {
		return err
	}
	after, err := queryConversationCursor(q)
	if err != nil {
		return err
	}
	page, err := h.uc.ListConversations.Execute(r.Context(), application.ListConversationsQuery{
		Principal: principalOf(r), After: after, Limit: limit,
	})
	if err != nil {
		return err
	}
	if page.HasNext() {
		next := page.Next.String()
		w.Header().Set("X-Next-Cursor", next)
		// A path-absolute reference: the service does not know the scheme
		// and host its clients reach it by behind a proxy, and RFC 8288
		// resolves the target against the request's URL. The cursor is
		// base64url, so it needs no escaping.
		w.Header().Set("Link", fmt.Sprintf(`</api/conversations?limit=%d&after=%s>; rel="next"`, limit, next))
	}
	out := make([]memberConversationJSON, len(page.Conversations))
	for i, c := range page.Conversations {
		out[i] = toMemberConversationJSON(c)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type markReadRequest struct {
	Seq *int64 `json:"seq"`
}

// markRead: POST /api/conversations/{id}/read {"seq": N} → 204. The
// answer says nothing of where the position ended (clamped, or already
// further): the caller's other devices learn it from the inbox stream.
func (h *Handler) markRead(w http.ResponseWriter, r *http.Request) error {
	id, err := pathConversationID(r)
	if err != nil {
		return err
	}
	var req markReadRequest
	if err := decodeJSON(w, r, h.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.Seq == nil {
		return required("seq")
	}
	if _, err := h.uc.MarkRead.Execute(r.Context(), application.MarkReadCommand{
		Principal: principalOf(r), ConversationID: id, Seq: *req.Seq,
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// queryConversationCursor returns the position named by the after
// parameter, the zero cursor when there is none.
func queryConversationCursor(q url.Values) (domain.ConversationCursor, error) {
	vs, ok := q["after"]
	if !ok {
		return domain.ConversationCursor{}, nil
	}
	if len(vs) != 1 {
		return domain.ConversationCursor{}, badRequest(codeValidation, "after: give it once")
	}
	c, err := domain.ParseConversationCursor(vs[0])
	if err != nil {
		return domain.ConversationCursor{}, badRequest(codeInvalidCursor, "after: is not a cursor issued by this service")
	}
	return c, nil
}

// pathConversationID returns the {id} of the route. A malformed id names
// no conversation that can exist, so it is 404 like any unknown one.
func pathConversationID(r *http.Request) (domain.ConversationID, error) {
	id, ok := pathVar(r, "id")
	if !ok {
		return "", fmt.Errorf("conversation id: bad percent-encoding: %w", domain.ErrNotFound)
	}
	return conversationID(id)
}

// pathVar returns the route's variable name, decoded: the router matches
// the encoded path (see routes), so a variable still holds its
// percent-escapes. It is false when they are not valid.
func pathVar(r *http.Request, name string) (string, bool) {
	v, err := url.PathUnescape(mux.Vars(r)[name])
	return v, err == nil
}

func conversationID(s string) (domain.ConversationID, error) {
	id := domain.ConversationID(s)
	if err := domain.ValidateConversationID(id); err != nil {
		return "", fmt.Errorf("conversation id %q: %w", s, domain.ErrNotFound)
	}
	return id, nil
}

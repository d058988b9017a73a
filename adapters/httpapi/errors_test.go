package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/golang/mock/gomock"

	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports/mocks"
)

// Every domain error reaches the client through the one mapping table,
// however deeply the store and the use case wrapped it.
func TestErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
	}{
		{"not found", fmt.Errorf("list: %w", domain.ErrNotFound), 404, "not_found", "conversation not found"},
		{"forbidden", fmt.Errorf("list: %w", domain.ErrForbidden), 403, "forbidden", ""},
		{"conflict", fmt.Errorf("list: %w", domain.ErrConflict), 409, "conflict", ""},
		{"group full", fmt.Errorf("list: %w", domain.ErrGroupFull), 409, "group_full", ""},
		{"unavailable", fmt.Errorf("pq: too many clients: %w", domain.ErrUnavailable), 503, "unavailable", ""},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 503, "unavailable", ""},
		{"validation", fmt.Errorf("list: %w", domain.Invalid("name", "is too long")), 400, "validation_failed", "name: is too long"},
		{"bare invalid", fmt.Errorf("secret detail: %w", domain.ErrInvalid), 400, "validation_failed", "the request is invalid"},
		{"anything else", errors.New("pq: relation \"secret_table\" does not exist"), 500, "internal", "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			convs := mocks.NewMockConversationRepository(gomock.NewController(t))
			convs.EXPECT().ListForMember(gomock.Any(), gomock.Any()).Return(domain.ConversationPage{}, tt.err)
			e := newEnv(t, func(o *envOptions) { o.convs = convs })

			r := e.do(http.MethodGet, "/api/conversations", e.token("u_alice"), nil)
			r.expect(t, tt.status, tt.code)
			var body struct {
				Error struct{ Message string } `json:"error"`
			}
			r.decode(t, &body)
			if tt.message != "" && body.Error.Message != tt.message {
				t.Errorf("message = %q, want %q", body.Error.Message, tt.message)
			}
			for _, leak := range []string{"pq", "secret", "list:", "query"} {
				if strings.Contains(string(r.body), leak) {
					t.Errorf("body leaks %q: %s", leak, r.body)
				}
			}
			if tt.status == http.StatusServiceUnavailable && r.header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			// 5xx are logged once, where they are answered, with the route.
			logged := strings.Count(e.logs.String(), `"msg":"request failed"`)
			if want := map[bool]int{true: 1, false: 0}[tt.status >= 500]; logged != want {
				t.Errorf("logged %d times, want %d; logs:\n%s", logged, want, e.logs)
			}
			if tt.status >= 500 && !strings.Contains(e.logs.String(), `"route":"/api/conversations"`) {
				t.Errorf("error log lacks the route:\n%s", e.logs)
			}
		})
	}
}

func TestStrictDecoding(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *envOptions) { o.cfg.MaxBodyBytes = 1024 })
	e.seedGroup("grp_team", "u_alice")
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"empty body", "", 400, "invalid_json"},
		{"not JSON", "content=hi", 400, "invalid_json"},
		{"truncated", `{"groupId":"grp_team","content":"hi"`, 400, "invalid_json"},
		{"two values", `{"groupId":"grp_team","content":"a"}{"groupId":"grp_team","content":"b"}`, 400, "invalid_json"},
		{"trailing garbage", `{"groupId":"grp_team","content":"a"} x`, 400, "invalid_json"},
		{"an array", `[{"groupId":"grp_team","content":"a"}]`, 400, "invalid_json"},
		{"a string", `"hi"`, 400, "invalid_json"},
		{"unknown field", `{"groupId":"grp_team","content":"a","Content":"b","x":1}`, 400, "invalid_json"},
		{"wrong type", `{"groupId":["grp_team"],"content":"a"}`, 400, "invalid_json"},
		{"null body", `null`, 400, "validation_failed"},
		{"over the limit", `{"groupId":"grp_team","content":"` + strings.Repeat("a", 2000) + `"}`, 413, "body_too_large"},
		{"over the limit after a value", `{"groupId":"grp_team","content":"a"}` + strings.Repeat(" ", 2000), 413, "body_too_large"},
		{"trailing white space", `{"groupId":"grp_team","content":"a"}` + "\n\n", 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e.do(http.MethodPost, "/api/messages", e.token("u_alice"), tt.body).expect(t, tt.status, tt.code)
		})
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do(http.MethodGet, "/api/nope", e.token("u_alice"), nil).expect(t, http.StatusNotFound, "not_found")
	e.do(http.MethodGet, "/nope", "", nil).expect(t, http.StatusNotFound, "not_found") // "/" is the demo page
	e.do(http.MethodPut, "/api/messages", e.token("u_alice"), `{}`).expect(t, http.StatusMethodNotAllowed, "method_not_allowed")
	e.do(http.MethodDelete, "/api/groups/grp_x/members", e.token("u_alice"), nil).expect(t, http.StatusMethodNotAllowed, "method_not_allowed")
	e.do(http.MethodPost, "/healthz", "", nil).expect(t, http.StatusMethodNotAllowed, "method_not_allowed")
}

func TestNewHandlerRequires(t *testing.T) {
	t.Parallel()
	if _, err := httpapi.NewHandler(httpapi.UseCases{}, httpapi.Config{AuthSecret: testSecret}, httpapi.Deps{}); err == nil {
		t.Error("no use cases: no error")
	}
	if _, err := httpapi.NewHandler(httpapi.UseCases{}, httpapi.Config{}, httpapi.Deps{}); err == nil {
		t.Error("no secret: no error")
	}
}

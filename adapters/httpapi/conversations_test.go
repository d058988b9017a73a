package httpapi_test

import (
	"net/http"
	"testing"
)

// createdAt is testNow as the API renders it: RFC 3339 in UTC.
const createdAt = "2025-03-04T12:14:15.123456Z"

func TestCreateDirectMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.token("u_alice")

	r := e.do(http.MethodPost, "/api/dms", alice, `{"memberIds":["u_bob","u_alice"]}`)
	r.expect(t, http.StatusCreated, "")
	want := `{"id":"dm_1","kind":"dm","memberIds":["u_alice","u_bob"],"createdAt":"` + createdAt + `","lastSeq":0}` + "\n"
	if string(r.body) != want {
		t.Fatalf("body = %s, want %s", r.body, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}

	// The same pair in the other order, by the other member: the same DM.
	r = e.do(http.MethodPost, "/api/dms", e.token("u_bob"), `{"memberIds":["u_alice","u_bob"]}`)
	r.expect(t, http.StatusOK, "")
	if string(r.body) != want {
		t.Fatalf("existing DM body = %s, want %s", r.body, want)
	}
}

func TestCreateDirectMessageRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"one member", `{"memberIds":["u_alice"]}`, 400, "validation_failed"},
		{"caller not a member", `{"memberIds":["u_bob","u_carol"]}`, 400, "validation_failed"},
		{"same member twice", `{"memberIds":["u_alice","u_alice"]}`, 400, "validation_failed"},
		{"memberIds missing", `{}`, 400, "validation_failed"},
		{"memberIds null", `{"memberIds":null}`, 400, "validation_failed"},
		{"memberIds not an array", `{"memberIds":"u_bob"}`, 400, "invalid_json"},
		{"member not a string", `{"memberIds":["u_alice",7]}`, 400, "invalid_json"},
		{"unknown field", `{"memberIds":["u_alice","u_bob"],"admin":true}`, 400, "invalid_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e.do(http.MethodPost, "/api/dms", e.token("u_alice"), tt.body).expect(t, tt.status, tt.code)
		})
	}
}

func TestCreateGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(http.MethodPost, "/api/groups", e.token("u_alice"), `{"name":"  Team  ","memberIds":["u_bob","u_alice"]}`)
	r.expect(t, http.StatusCreated, "")
	want := `{"id":"grp_1","kind":"group","name":"Team","memberIds":["u_alice","u_bob"],"createdAt":"` + createdAt + `","lastSeq":0}` + "\n"
	if string(r.body) != want {
		t.Fatalf("body = %s, want %s", r.body, want)
	}

	// memberIds may be left out: the caller alone is a group.
	r = e.do(http.MethodPost, "/api/groups", e.token("u_alice"), `{"name":"Solo"}`)
	r.expect(t, http.StatusCreated, "")

	for body, code := range map[string]string{
		`{"memberIds":["u_bob"]}`: "validation_failed",
		`{"name":"   "}`:          "validation_failed",
		`{"name":42}`:             "invalid_json",
		`{"name":"x","extra":1}`:  "invalid_json",
	} {
		e.do(http.MethodPost, "/api/groups", e.token("u_alice"), body).expect(t, http.StatusBadRequest, code)
	}
}

func TestGroupMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.seedGroup("grp_team", "u_alice", "u_bob")
	alice, mallory := e.token("u_alice"), e.token("u_mallory")

	r := e.do(http.MethodPost, "/api/groups/grp_team/members", alice, `{"userId":"u_carol"}`)
	r.expect(t, http.StatusNoContent, "")
	if len(r.body) != 0 {
		t.Errorf("204 with a body: %q", r.body)
	}
	if ok, _ := e.store.IsMember(t.Context(), g, "u_carol"); !ok {
		t.Fatal("u_carol was not added")
	}
	e.do(http.MethodPost, "/api/groups/grp_team/members", alice, `{"userId":"u_carol"}`).expect(t, http.StatusNoContent, "")

	r = e.do(http.MethodDelete, "/api/groups/grp_team/members/u_carol", alice, nil)
	r.expect(t, http.StatusNoContent, "")
	if ok, _ := e.store.IsMember(t.Context(), g, "u_carol"); ok {
		t.Fatal("u_carol was not removed")
	}

	// A non-member, a missing group, a DM id and a malformed id all get the
	// very same 404: nothing tells them apart.
	notMember := e.do(http.MethodPost, "/api/groups/grp_team/members", mallory, `{"userId":"u_mallory"}`)
	notMember.expect(t, http.StatusNotFound, "not_found")
	for _, path := range []string{
		"/api/groups/grp_missing/members",
		"/api/groups/dm_x/members",
		"/api/groups/%7F/members",
	} {
		r := e.do(http.MethodPost, path, alice, `{"userId":"u_carol"}`)
		r.expect(t, http.StatusNotFound, "not_found")
		if string(r.body) != string(notMember.body) {
			t.Errorf("%s: body %s differs from the non-member's %s", path, r.body, notMember.body)
		}
	}
	r = e.do(http.MethodDelete, "/api/groups/grp_team/members/u_bob", mallory, nil)
	r.expect(t, http.StatusNotFound, "not_found")
	if string(r.body) != string(notMember.body) {
		t.Errorf("DELETE by a non-member: body %s differs from %s", r.body, notMember.body)
	}

	e.do(http.MethodPost, "/api/groups/grp_team/members", alice, `{}`).expect(t, http.StatusBadRequest, "validation_failed")
	e.do(http.MethodPost, "/api/groups/grp_team/members", alice, `{"userId":"has space"}`).expect(t, http.StatusBadRequest, "validation_failed")
}

func TestListConversations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(http.MethodGet, "/api/conversations", e.token("u_alice"), nil)
	r.expect(t, http.StatusOK, "")
	if string(r.body) != "[]\n" {
		t.Fatalf("empty list = %q, want []", r.body)
	}

	e.seedDM("u_alice", "u_bob")
	g := e.seedGroup("grp_team", "u_alice", "u_carol")
	e.send(e.token("u_carol"), g, "hello")
	r = e.do(http.MethodGet, "/api/conversations", e.token("u_alice"), nil)
	r.expect(t, http.StatusOK, "")
	want := `[{"id":"grp_team","kind":"group","name":"grp_team","memberIds":["u_alice","u_carol"],"createdAt":"` + createdAt + `","lastSeq":1,"readSeq":0,"unreadCount":1},` +
		`{"id":"dm_u_alice_u_bob","kind":"dm","memberIds":["u_alice","u_bob"],"createdAt":"` + createdAt + `","lastSeq":0,"readSeq":0,"unreadCount":0}]` + "\n"
	if string(r.body) != want {
		t.Fatalf("body = %s\nwant   %s", r.body, want)
	}
}

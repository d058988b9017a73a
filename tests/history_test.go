package tests

import (
	"fmt"
	"net/http"
	"testing"
)

func TestHistoryPaging(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	dm := a.createDM(t, alice, "u_bob")
	const total = 60
	for i := 1; i <= total; i++ {
		a.send(t, alice, dm, fmt.Sprintf("m%02d", i))
	}

	tests := []struct {
		query string
		want  []int64
	}{
		{"", seqRange(11, 60)}, // the latest 50, oldest first
		{"&limit=5", seqRange(56, 60)},
		{"&limit=200", seqRange(1, 60)},
		{"&limit=1", []int64{60}},
		{"&after=0&limit=3", seqRange(1, 3)},
		{"&after=55&limit=3", seqRange(56, 58)},
		{"&after=58", seqRange(59, 60)},
		{"&after=60", []int64{}},
		{"&after=5", seqRange(6, 55)}, // limit 50 applies to after too
		{"&before=5&limit=3", seqRange(2, 4)},
		{"&before=3&limit=10", seqRange(1, 2)},
		{"&before=1", []int64{}},
		{"&before=61&limit=2", seqRange(59, 60)},
		{"&before=60", seqRange(10, 59)},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			page := a.history(t, bob, dm, tt.query)
			wantSeqs(t, "GET /api/messages?…"+tt.query, seqs(page), tt.want)
			for _, m := range page {
				if m.Content != fmt.Sprintf("m%02d", m.Seq) {
					t.Fatalf("seq %d holds %q", m.Seq, m.Content)
				}
			}
		})
	}

	for _, q := range []string{"limit=0", "limit=201", "limit=abc", "limit=-1", "after=abc", "before=-2"} {
		t.Run(q, func(t *testing.T) {
			wantError(t, a.do(t, http.MethodGet, "/api/messages?directMessageId="+dm.ID+"&"+q, bob.token, nil), http.StatusBadRequest, "")
		})
	}
	wantError(t, a.do(t, http.MethodGet, "/api/messages", bob.token, nil), http.StatusBadRequest, "")
	wantError(t, a.do(t, http.MethodGet, "/api/messages?directMessageId="+dm.ID+"&groupId=grp_x", bob.token, nil), http.StatusBadRequest, "")
}

package domain_test

import (
	"errors"
	"testing"

	"github.com/relaymsg/relay/domain"
)

func TestNewHistoryQuery(t *testing.T) {
	t.Parallel()
	ch := domain.DMChannel("dm_u_a_u_b")
	n := func(v int64) *int64 { return &v }
	tests := []struct {
		name    string
		page    domain.HistoryPage
		want    domain.HistoryQuery
		wantErr string // the ValidationError's text, "" for none
	}{
		{"latest, limit defaults to 50", domain.HistoryPage{}, domain.HistoryQuery{Channel: ch, Limit: 50}, ""},
		{"limit 1", domain.HistoryPage{Limit: n(1)}, domain.HistoryQuery{Channel: ch, Limit: 1}, ""},
		{"limit 200", domain.HistoryPage{Limit: n(200)}, domain.HistoryQuery{Channel: ch, Limit: 200}, ""},
		{"after", domain.HistoryPage{After: n(3), Limit: n(2)}, domain.HistoryQuery{Channel: ch, Anchor: domain.PageAfter, Seq: 3, Limit: 2}, ""},
		{"after 0 is the first page", domain.HistoryPage{After: n(0)}, domain.HistoryQuery{Channel: ch, Anchor: domain.PageAfter, Limit: 50}, ""},
		{"before", domain.HistoryPage{Before: n(6)}, domain.HistoryQuery{Channel: ch, Anchor: domain.PageBefore, Seq: 6, Limit: 50}, ""},
		{"before 0", domain.HistoryPage{Before: n(0)}, domain.HistoryQuery{Channel: ch, Anchor: domain.PageBefore, Limit: 50}, ""},

		{"limit 0", domain.HistoryPage{Limit: n(0)}, domain.HistoryQuery{}, "limit: must be an integer from 1 to 200"},
		{"limit 201", domain.HistoryPage{Limit: n(201)}, domain.HistoryQuery{}, "limit: must be an integer from 1 to 200"},
		{"limit -1", domain.HistoryPage{Limit: n(-1)}, domain.HistoryQuery{}, "limit: must be an integer from 1 to 200"},
		{"negative after", domain.HistoryPage{After: n(-1)}, domain.HistoryQuery{}, "after: must be a non-negative integer"},
		{"negative before", domain.HistoryPage{Before: n(-2)}, domain.HistoryQuery{}, "before: must be a non-negative integer"},
		{"after and before", domain.HistoryPage{After: n(1), Before: n(3)}, domain.HistoryQuery{}, "after, before: give at most one"},
		{"limit is checked first", domain.HistoryPage{Limit: n(0), After: n(-1), Before: n(1)}, domain.HistoryQuery{}, "limit: must be an integer from 1 to 200"},
		{"a sign before both", domain.HistoryPage{After: n(1), Before: n(-1)}, domain.HistoryQuery{}, "before: must be a non-negative integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.NewHistoryQuery(ch, tt.page)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("NewHistoryQuery = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, domain.ErrInvalid) || err.Error() != tt.wantErr {
				t.Fatalf("NewHistoryQuery error = %v; want ErrInvalid %q", err, tt.wantErr)
			}
		})
	}
}

package application_test

import (
	"slices"
	"testing"

	"github.com/golang/mock/gomock"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
)

func TestListMessages(t *testing.T) {
	t.Parallel()
	page := []domain.Message{msg(dmAB, 4), msg(dmAB, 5)}
	member := func(f *fixture) {
		f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
	}
	lists := func(q domain.HistoryQuery) func(f *fixture) {
		return func(f *fixture) {
			member(f)
			f.msgs.EXPECT().List(gomock.Any(), q).Return(page, nil)
		}
	}
	// The page's own rules are domain.NewHistoryQuery's (its tests); the
	// use case authorizes and passes the validated query on.
	latest := domain.HistoryQuery{Channel: dmAB, Limit: domain.DefaultPageSize}
	before := domain.HistoryQuery{Channel: dmAB, Anchor: domain.PageBefore, Seq: 6, Limit: 3}
	tests := []struct {
		name    string
		q       application.ListMessagesQuery
		setup   func(f *fixture)
		want    []domain.Message
		wantErr error
	}{
		{name: "the page asked for", q: application.ListMessagesQuery{Principal: alice, History: latest},
			setup: lists(latest), want: page},
		{name: "after", q: application.ListMessagesQuery{Principal: alice, History: domain.HistoryAfter(dmAB, 3, 2)},
			setup: lists(domain.HistoryAfter(dmAB, 3, 2)), want: page},
		{name: "before", q: application.ListMessagesQuery{Principal: alice, History: before},
			setup: lists(before), want: page},
		{name: "empty page", q: application.ListMessagesQuery{Principal: alice, History: domain.HistoryAfter(dmAB, 99, 50)},
			setup: func(f *fixture) {
				member(f)
				f.msgs.EXPECT().List(gomock.Any(), domain.HistoryAfter(dmAB, 99, 50)).Return(nil, nil)
			}},

		{name: "non-member", q: application.ListMessagesQuery{Principal: alice, History: latest},
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(false, nil)
			}, wantErr: domain.ErrNotFound},
		{name: "membership check fails", q: application.ListMessagesQuery{Principal: alice, History: latest},
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(false, domain.ErrUnavailable)
			}, wantErr: domain.ErrUnavailable},
		{name: "admin reads an existing conversation", q: application.ListMessagesQuery{Principal: service, History: latest},
			setup: func(f *fixture) {
				gomock.InOrder(
					f.convs.EXPECT().Get(gomock.Any(), dmAB).Return(domain.Conversation{ID: "dm_ab", Kind: domain.KindDM}, nil),
					f.msgs.EXPECT().List(gomock.Any(), latest).Return(page, nil),
				)
			}, want: page},
		{name: "admin reads a missing conversation", q: application.ListMessagesQuery{Principal: service, History: latest},
			setup: func(f *fixture) {
				f.convs.EXPECT().Get(gomock.Any(), dmAB).Return(domain.Conversation{}, domain.ErrNotFound)
			}, wantErr: domain.ErrNotFound},
		{name: "list fails", q: application.ListMessagesQuery{Principal: alice, History: latest},
			setup: func(f *fixture) {
				member(f)
				f.msgs.EXPECT().List(gomock.Any(), gomock.Any()).Return(nil, domain.ErrUnavailable)
			}, wantErr: domain.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			got, err := application.NewListMessages(f.convs, f.msgs).Execute(t.Context(), tt.q)
			checkErr(t, err, tt.wantErr)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("page = %v, want %v", got, tt.want)
			}
		})
	}
}

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
	tests := []struct {
		name    string
		q       application.ListMessagesQuery
		setup   func(f *fixture)
		want    []domain.Message
		wantErr error
	}{
		{name: "limit defaults to 50", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB},
			setup: lists(domain.HistoryQuery{Channel: dmAB, Limit: 50}), want: page},
		{name: "limit 1", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB, Limit: 1},
			setup: lists(domain.HistoryQuery{Channel: dmAB, Limit: 1}), want: page},
		{name: "limit 200", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB, Limit: 200},
			setup: lists(domain.HistoryQuery{Channel: dmAB, Limit: 200}), want: page},
		{name: "after", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB, Anchor: domain.PageAfter, Seq: 3, Limit: 2},
			setup: lists(domain.HistoryQuery{Channel: dmAB, Anchor: domain.PageAfter, Seq: 3, Limit: 2}), want: page},
		{name: "before", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB, Anchor: domain.PageBefore, Seq: 6},
			setup: lists(domain.HistoryQuery{Channel: dmAB, Anchor: domain.PageBefore, Seq: 6, Limit: 50}), want: page},
		{name: "empty page", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB, Anchor: domain.PageAfter, Seq: 99},
			setup: func(f *fixture) {
				member(f)
				f.msgs.EXPECT().List(gomock.Any(), domain.HistoryQuery{Channel: dmAB, Anchor: domain.PageAfter, Seq: 99, Limit: 50}).Return(nil, nil)
			}},

		{name: "limit 201", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB, Limit: 201}, wantErr: domain.ErrInvalid},
		{name: "limit -1", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB, Limit: -1}, wantErr: domain.ErrInvalid},
		{name: "after 0 is the first page", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB, Anchor: domain.PageAfter, Seq: 0, Limit: 2},
			setup: lists(domain.HistoryQuery{Channel: dmAB, Anchor: domain.PageAfter, Seq: 0, Limit: 2}), want: page},
		{name: "unknown anchor", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB, Anchor: domain.PageAnchor(9)},
			wantErr: domain.ErrInvalid},
		{name: "negative after seq", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB, Anchor: domain.PageAfter, Seq: -1}, wantErr: domain.ErrInvalid},
		{name: "negative before seq", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB, Anchor: domain.PageBefore, Seq: -1}, wantErr: domain.ErrInvalid},
		{name: "admin with bad limit", q: application.ListMessagesQuery{Principal: service, Channel: dmAB, Limit: 201}, wantErr: domain.ErrInvalid},

		{name: "non-member", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB},
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(false, nil)
			}, wantErr: domain.ErrNotFound},
		{name: "membership check fails", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB},
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(false, domain.ErrUnavailable)
			}, wantErr: domain.ErrUnavailable},
		{name: "admin reads an existing conversation", q: application.ListMessagesQuery{Principal: service, Channel: dmAB},
			setup: func(f *fixture) {
				gomock.InOrder(
					f.convs.EXPECT().Get(gomock.Any(), dmAB).Return(domain.Conversation{ID: "dm_ab", Kind: domain.KindDM}, nil),
					f.msgs.EXPECT().List(gomock.Any(), domain.HistoryQuery{Channel: dmAB, Limit: 50}).Return(page, nil),
				)
			}, want: page},
		{name: "admin reads a missing conversation", q: application.ListMessagesQuery{Principal: service, Channel: dmAB},
			setup: func(f *fixture) {
				f.convs.EXPECT().Get(gomock.Any(), dmAB).Return(domain.Conversation{}, domain.ErrNotFound)
			}, wantErr: domain.ErrNotFound},
		{name: "list fails", q: application.ListMessagesQuery{Principal: alice, Channel: dmAB},
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

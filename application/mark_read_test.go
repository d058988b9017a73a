package application_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/golang/mock/gomock"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
)

func TestMarkRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		principal domain.Principal
		id        domain.ConversationID
		seq       int64
		setup     func(f *fixture)
		want      application.MarkReadResult
		wantErr   error
		// wantWarning: a failed publish is logged.
		wantWarning bool
	}{
		{name: "member moves", principal: alice, id: "grp_team", seq: 7,
			setup: func(f *fixture) {
				gomock.InOrder(
					f.convs.EXPECT().MarkRead(gomock.Any(), groupTeam, alice.UserID, int64(7)).Return(int64(5), true, int64(11), nil),
					f.notifier.EXPECT().Publish(liveContext(), domain.ReadMovedEvent(alice.UserID, groupTeam, 5, 11)).Return(nil),
				)
			},
			want: application.MarkReadResult{Channel: groupTeam, ReadSeq: 5, Moved: true}},
		{name: "a direct message by its id", principal: alice, id: "dm_ab", seq: 4,
			setup: func(f *fixture) {
				gomock.InOrder(
					f.convs.EXPECT().MarkRead(gomock.Any(), dmAB, alice.UserID, int64(4)).Return(int64(4), true, int64(2), nil),
					f.notifier.EXPECT().Publish(liveContext(), domain.ReadMovedEvent(alice.UserID, dmAB, 4, 2)).Return(nil),
				)
			},
			want: application.MarkReadResult{Channel: dmAB, ReadSeq: 4, Moved: true}},
		// The mock notifier refuses any Publish not expected.
		{name: "not moved: nothing published", principal: alice, id: "dm_ab", seq: 0,
			setup: func(f *fixture) {
				f.convs.EXPECT().MarkRead(gomock.Any(), dmAB, alice.UserID, int64(0)).Return(int64(3), false, int64(0), nil)
			},
			want: application.MarkReadResult{Channel: dmAB, ReadSeq: 3}},
		{name: "publish fails: logged, not returned", principal: alice, id: "grp_team", seq: 7,
			setup: func(f *fixture) {
				f.convs.EXPECT().MarkRead(gomock.Any(), groupTeam, alice.UserID, int64(7)).Return(int64(5), true, int64(11), nil)
				f.notifier.EXPECT().Publish(gomock.Any(), domain.ReadMovedEvent(alice.UserID, groupTeam, 5, 11)).Return(domain.ErrUnavailable)
			},
			want: application.MarkReadResult{Channel: groupTeam, ReadSeq: 5, Moved: true}, wantWarning: true},
		{name: "service token is a member like any user", principal: service, id: "grp_team", seq: 1,
			setup: func(f *fixture) {
				f.convs.EXPECT().MarkRead(gomock.Any(), groupTeam, service.UserID, int64(1)).Return(int64(0), false, int64(0), domain.ErrNotFound)
			},
			wantErr: domain.ErrNotFound},
		{name: "non-member", principal: alice, id: "grp_team", seq: 1,
			setup: func(f *fixture) {
				f.convs.EXPECT().MarkRead(gomock.Any(), groupTeam, alice.UserID, int64(1)).Return(int64(0), false, int64(0), domain.ErrNotFound)
			},
			wantErr: domain.ErrNotFound},
		{name: "negative seq", principal: alice, id: "grp_team", seq: -1, wantErr: domain.ErrInvalid},
		{name: "id of no conversation", principal: alice, id: "msg_1", seq: 1, wantErr: domain.ErrNotFound},
		{name: "store fails", principal: alice, id: "grp_team", seq: 1,
			setup: func(f *fixture) {
				f.convs.EXPECT().MarkRead(gomock.Any(), groupTeam, alice.UserID, int64(1)).Return(int64(0), false, int64(0), domain.ErrUnavailable)
			},
			wantErr: domain.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			got, err := application.NewMarkRead(f.convs, f.notifier, f.logger).Execute(t.Context(), application.MarkReadCommand{
				Principal: tt.principal, ConversationID: tt.id, Seq: tt.seq,
			})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Execute = %v; want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Execute = %+v, %v; want %+v", got, err, tt.want)
			}
			if logged := strings.Contains(f.logs.String(), `"channel":"user:u_alice"`); logged != tt.wantWarning {
				t.Fatalf("publish warning logged = %v, want %v; log: %s", logged, tt.wantWarning, f.logs)
			}
		})
	}
}

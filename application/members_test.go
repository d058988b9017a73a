package application_test

import (
	"context"
	"strings"
	"testing"

	"github.com/golang/mock/gomock"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
)

func TestAddMember(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		principal domain.Principal
		user      domain.UserID
		setup     func(f *fixture)
		wantErr   error
		// wantWarning: a failed publish is logged.
		wantWarning bool
	}{
		{name: "member adds", principal: alice, user: "u_carol",
			setup: func(f *fixture) {
				gomock.InOrder(
					f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(true, nil),
					f.convs.EXPECT().AddMember(gomock.Any(), groupTeam, domain.UserID("u_carol"), 7).Return(int64(4), nil),
					f.notifier.EXPECT().Publish(liveContext(), domain.MemberJoinedEvent("u_carol", groupTeam, 4)).Return(nil),
				)
			}},
		{name: "admin adds", principal: service, user: "u_carol",
			setup: func(f *fixture) {
				gomock.InOrder(
					f.convs.EXPECT().Get(gomock.Any(), groupTeam).Return(domain.Conversation{ID: "grp_team", Kind: domain.KindGroup}, nil),
					f.convs.EXPECT().AddMember(gomock.Any(), groupTeam, domain.UserID("u_carol"), 7).Return(int64(9), nil),
					f.notifier.EXPECT().Publish(liveContext(), domain.MemberJoinedEvent("u_carol", groupTeam, 9)).Return(nil),
				)
			}},
		// The mock notifier refuses any Publish not expected.
		{name: "a member already: nothing published", principal: alice, user: "u_carol",
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(true, nil)
				f.convs.EXPECT().AddMember(gomock.Any(), groupTeam, domain.UserID("u_carol"), 7).Return(int64(0), nil)
			}},
		{name: "publish fails: logged, not returned", principal: alice, user: "u_carol",
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(true, nil)
				f.convs.EXPECT().AddMember(gomock.Any(), groupTeam, domain.UserID("u_carol"), 7).Return(int64(4), nil)
				f.notifier.EXPECT().Publish(gomock.Any(), domain.MemberJoinedEvent("u_carol", groupTeam, 4)).Return(domain.ErrUnavailable)
			}, wantWarning: true},
		{name: "admin, missing group", principal: service, user: "u_carol",
			setup: func(f *fixture) {
				f.convs.EXPECT().Get(gomock.Any(), groupTeam).Return(domain.Conversation{}, domain.ErrNotFound)
			}, wantErr: domain.ErrNotFound},
		{name: "non-member", principal: alice, user: "u_carol",
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(false, nil)
			}, wantErr: domain.ErrNotFound},
		{name: "invalid user id", principal: alice, user: "u carol", wantErr: domain.ErrInvalid},
		{name: "empty user id", principal: alice, user: "", wantErr: domain.ErrInvalid},
		{name: "store fails", principal: alice, user: "u_carol",
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(true, nil)
				f.convs.EXPECT().AddMember(gomock.Any(), groupTeam, domain.UserID("u_carol"), 7).Return(int64(0), domain.ErrUnavailable)
			}, wantErr: domain.ErrUnavailable},
		{name: "group full", principal: alice, user: "u_carol",
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(true, nil)
				f.convs.EXPECT().AddMember(gomock.Any(), groupTeam, domain.UserID("u_carol"), 7).Return(int64(0), domain.ErrGroupFull)
			}, wantErr: domain.ErrGroupFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			err := application.NewAddMember(f.convs, f.notifier, f.logger, application.GroupLimits{MaxMembers: 7}).Execute(t.Context(),
				application.AddMemberCommand{Principal: tt.principal, GroupID: "grp_team", UserID: tt.user})
			checkErr(t, err, tt.wantErr)
			if logged := strings.Contains(f.logs.String(), `"channel":"user:u_carol"`); logged != tt.wantWarning {
				t.Fatalf("publish warning logged = %v, want %v; log: %s", logged, tt.wantWarning, f.logs)
			}
		})
	}
}

// TestAddMemberDefaultLimit: limits left zero bound groups by the
// domain's default, never not at all.
func TestAddMemberDefaultLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(true, nil)
	f.convs.EXPECT().AddMember(gomock.Any(), groupTeam, domain.UserID("u_carol"), domain.DefaultMaxGroupMembers).Return(int64(0), nil)
	if err := application.NewAddMember(f.convs, f.notifier, f.logger, application.GroupLimits{}).Execute(t.Context(),
		application.AddMemberCommand{Principal: alice, GroupID: "grp_team", UserID: "u_carol"}); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveMember(t *testing.T) {
	t.Parallel()
	isMember := func(f *fixture) *gomock.Call {
		return f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(true, nil)
	}
	tests := []struct {
		name        string
		principal   domain.Principal
		user        domain.UserID
		setup       func(f *fixture)
		wantErr     error
		wantWarning bool
		// wantUserWarning: a failed publish on the user channel is logged.
		wantUserWarning bool
	}{
		{name: "member removes another", principal: alice, user: "u_bob",
			setup: func(f *fixture) {
				gomock.InOrder(
					isMember(f),
					f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_bob")).Return(true, int64(6), nil),
					f.notifier.EXPECT().Publish(liveContext(), domain.MemberRemovedEvent(groupTeam, "u_bob")).Return(nil),
					f.notifier.EXPECT().Publish(liveContext(), domain.MemberLeftEvent("u_bob", groupTeam, 6)).Return(nil),
				)
			}},
		{name: "member leaves", principal: alice, user: "u_alice",
			setup: func(f *fixture) {
				gomock.InOrder(
					isMember(f),
					f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(true, int64(2), nil),
					f.notifier.EXPECT().Publish(gomock.Any(), domain.MemberRemovedEvent(groupTeam, "u_alice")).Return(nil),
					f.notifier.EXPECT().Publish(gomock.Any(), domain.MemberLeftEvent("u_alice", groupTeam, 2)).Return(nil),
				)
			}},
		{name: "admin removes", principal: service, user: "u_bob",
			setup: func(f *fixture) {
				gomock.InOrder(
					f.convs.EXPECT().Get(gomock.Any(), groupTeam).Return(domain.Conversation{ID: "grp_team", Kind: domain.KindGroup}, nil),
					f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_bob")).Return(true, int64(6), nil),
					f.notifier.EXPECT().Publish(gomock.Any(), domain.MemberRemovedEvent(groupTeam, "u_bob")).Return(nil),
					f.notifier.EXPECT().Publish(gomock.Any(), domain.MemberLeftEvent("u_bob", groupTeam, 6)).Return(nil),
				)
			}},
		{name: "not a member: nothing published", principal: alice, user: "u_bob",
			setup: func(f *fixture) {
				isMember(f)
				f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_bob")).Return(false, int64(0), nil)
			}},
		// One failure does not stop the other doorbell.
		{name: "publish fails", principal: alice, user: "u_bob",
			setup: func(f *fixture) {
				isMember(f)
				f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_bob")).Return(true, int64(6), nil)
				f.notifier.EXPECT().Publish(gomock.Any(), domain.MemberRemovedEvent(groupTeam, "u_bob")).Return(domain.ErrUnavailable)
				f.notifier.EXPECT().Publish(gomock.Any(), domain.MemberLeftEvent("u_bob", groupTeam, 6)).Return(nil)
			}, wantWarning: true},
		{name: "user channel publish fails", principal: alice, user: "u_bob",
			setup: func(f *fixture) {
				isMember(f)
				f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_bob")).Return(true, int64(6), nil)
				f.notifier.EXPECT().Publish(gomock.Any(), domain.MemberRemovedEvent(groupTeam, "u_bob")).Return(nil)
				f.notifier.EXPECT().Publish(gomock.Any(), domain.MemberLeftEvent("u_bob", groupTeam, 6)).Return(domain.ErrUnavailable)
			}, wantUserWarning: true},
		{name: "caller not a member", principal: alice, user: "u_bob",
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(false, nil)
			}, wantErr: domain.ErrNotFound},
		{name: "invalid user id", principal: alice, user: "", wantErr: domain.ErrInvalid},
		{name: "store fails", principal: alice, user: "u_bob",
			setup: func(f *fixture) {
				isMember(f)
				f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_bob")).Return(false, int64(0), domain.ErrUnavailable)
			}, wantErr: domain.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			err := application.NewRemoveMember(f.convs, f.notifier, f.logger).Execute(t.Context(),
				application.RemoveMemberCommand{Principal: tt.principal, GroupID: "grp_team", UserID: tt.user})
			checkErr(t, err, tt.wantErr)
			if logged := strings.Contains(f.logs.String(), `"channel":"group:grp_team"`); logged != tt.wantWarning {
				t.Fatalf("publish warning logged = %v, want %v; log: %s", logged, tt.wantWarning, f.logs)
			}
			if logged := strings.Contains(f.logs.String(), `"channel":"user:`+string(tt.user)+`"`); logged != tt.wantUserWarning {
				t.Fatalf("user channel publish warning logged = %v, want %v; log: %s", logged, tt.wantUserWarning, f.logs)
			}
		})
	}
}

func TestRemoveMemberPublishOutlivesTheRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(true, nil)
	gomock.InOrder(
		f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_bob")).DoAndReturn(
			func(context.Context, domain.ChannelID, domain.UserID) (bool, int64, error) {
				cancel()
				return true, 3, nil
			}),
		f.notifier.EXPECT().Publish(liveContext(), domain.MemberRemovedEvent(groupTeam, "u_bob")).Return(nil),
		f.notifier.EXPECT().Publish(liveContext(), domain.MemberLeftEvent("u_bob", groupTeam, 3)).Return(nil),
	)
	err := application.NewRemoveMember(f.convs, f.notifier, f.logger).Execute(ctx,
		application.RemoveMemberCommand{Principal: alice, GroupID: "grp_team", UserID: "u_bob"})
	if err != nil {
		t.Fatal(err)
	}
}

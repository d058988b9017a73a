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
	}{
		{name: "member adds", principal: alice, user: "u_carol",
			setup: func(f *fixture) {
				gomock.InOrder(
					f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(true, nil),
					f.convs.EXPECT().AddMember(gomock.Any(), groupTeam, domain.UserID("u_carol"), 7).Return(nil),
				)
			}},
		{name: "admin adds", principal: service, user: "u_carol",
			setup: func(f *fixture) {
				gomock.InOrder(
					f.convs.EXPECT().Get(gomock.Any(), groupTeam).Return(domain.Conversation{ID: "grp_team", Kind: domain.KindGroup}, nil),
					f.convs.EXPECT().AddMember(gomock.Any(), groupTeam, domain.UserID("u_carol"), 7).Return(nil),
				)
			}},
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
				f.convs.EXPECT().AddMember(gomock.Any(), groupTeam, domain.UserID("u_carol"), 7).Return(domain.ErrUnavailable)
			}, wantErr: domain.ErrUnavailable},
		{name: "group full", principal: alice, user: "u_carol",
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(true, nil)
				f.convs.EXPECT().AddMember(gomock.Any(), groupTeam, domain.UserID("u_carol"), 7).Return(domain.ErrGroupFull)
			}, wantErr: domain.ErrGroupFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			err := application.NewAddMember(f.convs, application.GroupLimits{MaxMembers: 7}).Execute(t.Context(),
				application.AddMemberCommand{Principal: tt.principal, GroupID: "grp_team", UserID: tt.user})
			checkErr(t, err, tt.wantErr)
		})
	}
}

// TestAddMemberDefaultLimit: limits left zero bound groups by the
// domain's default, never not at all.
func TestAddMemberDefaultLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(true, nil)
	f.convs.EXPECT().AddMember(gomock.Any(), groupTeam, domain.UserID("u_carol"), domain.DefaultMaxGroupMembers).Return(nil)
	if err := application.NewAddMember(f.convs, application.GroupLimits{}).Execute(t.Context(),
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
	}{
		{name: "member removes another", principal: alice, user: "u_bob",
			setup: func(f *fixture) {
				gomock.InOrder(
					isMember(f),
					f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_bob")).Return(true, nil),
					f.notifier.EXPECT().Publish(liveContext(), domain.MemberRemovedEvent(groupTeam, "u_bob")).Return(nil),
				)
			}},
		{name: "member leaves", principal: alice, user: "u_alice",
			setup: func(f *fixture) {
				gomock.InOrder(
					isMember(f),
					f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(true, nil),
					f.notifier.EXPECT().Publish(gomock.Any(), domain.MemberRemovedEvent(groupTeam, "u_alice")).Return(nil),
				)
			}},
		{name: "admin removes", principal: service, user: "u_bob",
			setup: func(f *fixture) {
				gomock.InOrder(
					f.convs.EXPECT().Get(gomock.Any(), groupTeam).Return(domain.Conversation{ID: "grp_team", Kind: domain.KindGroup}, nil),
					f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_bob")).Return(true, nil),
					f.notifier.EXPECT().Publish(gomock.Any(), domain.MemberRemovedEvent(groupTeam, "u_bob")).Return(nil),
				)
			}},
		{name: "not a member: nothing published", principal: alice, user: "u_bob",
			setup: func(f *fixture) {
				isMember(f)
				f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_bob")).Return(false, nil)
			}},
		{name: "publish fails", principal: alice, user: "u_bob",
			setup: func(f *fixture) {
				isMember(f)
				f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_bob")).Return(true, nil)
				f.notifier.EXPECT().Publish(gomock.Any(), gomock.Any()).Return(domain.ErrUnavailable)
			}, wantWarning: true},
		{name: "caller not a member", principal: alice, user: "u_bob",
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), groupTeam, domain.UserID("u_alice")).Return(false, nil)
			}, wantErr: domain.ErrNotFound},
		{name: "invalid user id", principal: alice, user: "", wantErr: domain.ErrInvalid},
		{name: "store fails", principal: alice, user: "u_bob",
			setup: func(f *fixture) {
				isMember(f)
				f.convs.EXPECT().RemoveMember(gomock.Any(), groupTeam, domain.UserID("u_bob")).Return(false, domain.ErrUnavailable)
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
			func(context.Context, domain.ChannelID, domain.UserID) (bool, error) {
				cancel()
				return true, nil
			}),
		f.notifier.EXPECT().Publish(liveContext(), domain.MemberRemovedEvent(groupTeam, "u_bob")).Return(nil),
	)
	err := application.NewRemoveMember(f.convs, f.notifier, f.logger).Execute(ctx,
		application.RemoveMemberCommand{Principal: alice, GroupID: "grp_team", UserID: "u_bob"})
	if err != nil {
		t.Fatal(err)
	}
}

package application_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/golang/mock/gomock"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
)

func TestCreateDirectMessage(t *testing.T) {
	t.Parallel()
	// What the store must receive for the pair, in either order.
	newDM := domain.Conversation{ID: "dm_1", Kind: domain.KindDM, MemberIDs: []domain.UserID{"u_alice", "u_bob"}, CreatedAt: fixedNow}
	storedDM := newDM
	storedDM.Number = 7
	existing := domain.Conversation{ID: "dm_old", Kind: domain.KindDM, Number: 3, MemberIDs: []domain.UserID{"u_alice", "u_bob"},
		CreatedAt: fixedNow.Add(-1), LastSeq: 12}
	useqs := map[domain.UserID]int64{"u_alice": 5, "u_bob": 1}
	joins := func(f *fixture) *gomock.Call {
		return f.notifier.EXPECT().Publish(liveContext(), domain.MemberJoinedEvent("u_alice", storedDM.Channel(), 5)).Return(nil)
	}
	bobJoins := func(f *fixture) *gomock.Call {
		return f.notifier.EXPECT().Publish(liveContext(), domain.MemberJoinedEvent("u_bob", storedDM.Channel(), 1)).Return(nil)
	}

	tests := []struct {
		name        string
		members     []domain.UserID
		setup       func(f *fixture)
		want        domain.Conversation
		wantCreated bool
		wantErr     error
		wantWarning bool // a failed publish is logged
	}{
		{name: "new pair", members: []domain.UserID{"u_alice", "u_bob"},
			setup: func(f *fixture) {
				gomock.InOrder(
					f.convs.EXPECT().CreateDirectMessage(gomock.Any(), newDM).Return(storedDM, true, useqs, nil),
					joins(f), bobJoins(f),
				)
			}, want: storedDM, wantCreated: true},
		{name: "new pair, reversed", members: []domain.UserID{"u_bob", "u_alice"},
			setup: func(f *fixture) {
				gomock.InOrder(
					f.convs.EXPECT().CreateDirectMessage(gomock.Any(), newDM).Return(storedDM, true, useqs, nil),
					joins(f), bobJoins(f),
				)
			}, want: storedDM, wantCreated: true},
		// The mock notifier refuses any Publish not expected.
		{name: "existing pair: nothing published", members: []domain.UserID{"u_bob", "u_alice"},
			setup: func(f *fixture) {
				f.convs.EXPECT().CreateDirectMessage(gomock.Any(), newDM).Return(existing, false, nil, nil)
			}, want: existing, wantCreated: false},
		{name: "publish fails: logged, not returned, the other still rung", members: []domain.UserID{"u_alice", "u_bob"},
			setup: func(f *fixture) {
				gomock.InOrder(
					f.convs.EXPECT().CreateDirectMessage(gomock.Any(), newDM).Return(storedDM, true, useqs, nil),
					joins(f).Return(domain.ErrUnavailable), bobJoins(f),
				)
			}, want: storedDM, wantCreated: true, wantWarning: true},
		{name: "caller not a member", members: []domain.UserID{"u_bob", "u_carol"}, wantErr: domain.ErrInvalid},
		{name: "same user twice", members: []domain.UserID{"u_alice", "u_alice"}, wantErr: domain.ErrInvalid},
		{name: "three members", members: []domain.UserID{"u_alice", "u_bob", "u_carol"}, wantErr: domain.ErrInvalid},
		{name: "store fails", members: []domain.UserID{"u_alice", "u_bob"},
			setup: func(f *fixture) {
				f.convs.EXPECT().CreateDirectMessage(gomock.Any(), gomock.Any()).Return(domain.Conversation{}, false, nil, domain.ErrUnavailable)
			}, wantErr: domain.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.fixedClockAndIDs()
			if tt.setup != nil {
				tt.setup(f)
			}
			uc := application.NewCreateDirectMessage(f.convs, f.ids, f.clock, f.notifier, f.logger)
			got, created, err := uc.Execute(t.Context(), application.CreateDirectMessageCommand{Principal: alice, MemberIDs: tt.members})
			checkErr(t, err, tt.wantErr)
			if !equalConversation(got, tt.want) || created != tt.wantCreated {
				t.Fatalf("Execute = %+v, %v; want %+v, %v", got, created, tt.want, tt.wantCreated)
			}
			if logged := strings.Contains(f.logs.String(), `"channel":"user:u_alice"`); logged != tt.wantWarning {
				t.Fatalf("publish warning logged = %v, want %v; log: %s", logged, tt.wantWarning, f.logs)
			}
		})
	}
}

func TestCreateGroup(t *testing.T) {
	t.Parallel()
	newGroup := domain.Conversation{ID: "grp_1", Kind: domain.KindGroup, Name: "Team",
		MemberIDs: []domain.UserID{"u_alice", "u_bob", "u_carol"}, CreatedAt: fixedNow}
	stored := newGroup
	stored.Number = 42
	useqs := map[domain.UserID]int64{"u_alice": 3, "u_bob": 1, "u_carol": 8}
	// joins expects the doorbell of each member, in member order, after
	// the store's write.
	joins := func(f *fixture, write *gomock.Call) {
		gomock.InOrder(write,
			f.notifier.EXPECT().Publish(liveContext(), domain.MemberJoinedEvent("u_alice", stored.Channel(), 3)).Return(nil),
			f.notifier.EXPECT().Publish(liveContext(), domain.MemberJoinedEvent("u_bob", stored.Channel(), 1)).Return(nil),
			f.notifier.EXPECT().Publish(liveContext(), domain.MemberJoinedEvent("u_carol", stored.Channel(), 8)).Return(nil),
		)
	}

	tests := []struct {
		name    string
		gname   string
		members []domain.UserID
		// maxMembers is the group size limit (0: the default).
		maxMembers int
		setup      func(f *fixture)
		want       domain.Conversation
		// wantMembers, when set, is checked instead of want.
		wantMembers int
		wantErr     error
	}{
		{name: "caller added, duplicates removed", gname: " Team ", members: []domain.UserID{"u_bob", "u_alice", "u_carol", "u_bob"},
			setup: func(f *fixture) {
				joins(f, f.convs.EXPECT().CreateGroup(gomock.Any(), newGroup).Return(stored, useqs, nil))
			}, want: stored},
		// The limit counts distinct members, the caller included.
		{name: "exactly full", gname: "Team", members: []domain.UserID{"u_bob", "u_alice", "u_carol", "u_bob"}, maxMembers: 3,
			setup: func(f *fixture) {
				joins(f, f.convs.EXPECT().CreateGroup(gomock.Any(), newGroup).Return(stored, useqs, nil))
			}, want: stored},
		{name: "over the limit", gname: "Team", members: []domain.UserID{"u_bob", "u_carol"}, maxMembers: 2, wantErr: domain.ErrInvalid},
		// The smaller bound wins: the request's 1000 names, or the size.
		{name: "over the creation list", gname: "Team", members: users(domain.MaxGroupCreateMembers + 1), wantErr: domain.ErrInvalid},
		{name: "creation list within a larger size limit", gname: "Team", members: users(domain.MaxGroupCreateMembers), maxMembers: 2000,
			setup: func(f *fixture) {
				// One doorbell per member, each on its own channel
				// with its own useq, and no other store call.
				f.convs.EXPECT().CreateGroup(gomock.Any(), gomock.Any()).DoAndReturn(
					func(_ any, c domain.Conversation) (domain.Conversation, map[domain.UserID]int64, error) {
						useqs := make(map[domain.UserID]int64, len(c.MemberIDs))
						for i, u := range c.MemberIDs {
							useqs[u] = int64(i + 1)
						}
						return c, useqs, nil
					})
				rung := map[domain.UserID]bool{}
				f.notifier.EXPECT().Publish(liveContext(), gomock.Any()).DoAndReturn(func(_ any, ev domain.Event) error {
					u := domain.UserID(strings.TrimPrefix(ev.Channel.String(), "user:"))
					if ev.Kind != domain.EventMemberJoined || ev.Channel != domain.UserChannel(u) || ev.UserSeq < 1 || rung[u] {
						f.t.Errorf("unexpected doorbell %+v", ev)
					}
					rung[u] = true
					return nil
				}).Times(domain.MaxGroupCreateMembers + 1)
			}, wantMembers: domain.MaxGroupCreateMembers + 1},
		{name: "creation list over a smaller size limit", gname: "Team", members: users(domain.MaxGroupCreateMembers), maxMembers: 500,
			wantErr: domain.ErrInvalid},
		{name: "missing name", gname: " ", members: []domain.UserID{"u_bob"}, wantErr: domain.ErrInvalid},
		{name: "bad member id", gname: "Team", members: []domain.UserID{"u bob"}, wantErr: domain.ErrInvalid},
		{name: "store fails", gname: "Team", members: []domain.UserID{"u_bob"},
			setup: func(f *fixture) {
				f.convs.EXPECT().CreateGroup(gomock.Any(), gomock.Any()).Return(domain.Conversation{}, nil, domain.ErrUnavailable)
			}, wantErr: domain.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.fixedClockAndIDs()
			if tt.setup != nil {
				tt.setup(f)
			}
			uc := application.NewCreateGroup(f.convs, f.ids, f.clock, f.notifier, f.logger, application.GroupLimits{MaxMembers: tt.maxMembers})
			got, err := uc.Execute(t.Context(), application.CreateGroupCommand{Principal: alice, Name: tt.gname, MemberIDs: tt.members})
			checkErr(t, err, tt.wantErr)
			if tt.wantMembers > 0 {
				if len(got.MemberIDs) != tt.wantMembers {
					t.Fatalf("Execute = %d members, want %d", len(got.MemberIDs), tt.wantMembers)
				}
				return
			}
			if !equalConversation(got, tt.want) {
				t.Fatalf("Execute = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// users returns n distinct user ids, none of them alice.
func users(n int) []domain.UserID {
	out := make([]domain.UserID, n)
	for i := range out {
		out[i] = domain.UserID(fmt.Sprintf("u_%04d", i))
	}
	return out
}

func TestCreateUsesPrefixedIDs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clock.EXPECT().Now().Return(fixedNow).AnyTimes()
	f.ids.EXPECT().NewID("dm").Return("dm_x")
	f.ids.EXPECT().NewID("grp").Return("grp_x")
	f.convs.EXPECT().CreateDirectMessage(gomock.Any(), match("a DM with id dm_x",
		func(c domain.Conversation) bool { return c.ID == "dm_x" })).DoAndReturn(
		func(_ any, c domain.Conversation) (domain.Conversation, bool, map[domain.UserID]int64, error) {
			return c, true, nil, nil
		})
	f.convs.EXPECT().CreateGroup(gomock.Any(), match("a group with id grp_x",
		func(c domain.Conversation) bool { return c.ID == "grp_x" })).DoAndReturn(
		func(_ any, c domain.Conversation) (domain.Conversation, map[domain.UserID]int64, error) {
			return c, nil, nil
		})

	if _, _, err := application.NewCreateDirectMessage(f.convs, f.ids, f.clock, f.notifier, f.logger).Execute(t.Context(),
		application.CreateDirectMessageCommand{Principal: alice, MemberIDs: []domain.UserID{"u_alice", "u_bob"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := application.NewCreateGroup(f.convs, f.ids, f.clock, f.notifier, f.logger, application.GroupLimits{}).Execute(t.Context(),
		application.CreateGroupCommand{Principal: alice, Name: "Team"}); err != nil {
		t.Fatal(err)
	}
}

func TestListConversations(t *testing.T) {
	t.Parallel()
	convs := []domain.Conversation{
		{ID: "grp_team", Kind: domain.KindGroup, Number: 2, Name: "Team", MemberIDs: []domain.UserID{"u_alice"}, LastSeq: 4, CreatedAt: fixedNow},
		{ID: "dm_ab", Kind: domain.KindDM, Number: 1, MemberIDs: []domain.UserID{"u_alice", "u_bob"}, CreatedAt: fixedNow.Add(-1)},
	}
	cursor := domain.ConversationCursor{CreatedAt: fixedNow, Number: 9}
	page := domain.ConversationPage{Conversations: convs, Next: domain.ConversationCursorOf(convs[1])}
	tests := []struct {
		name      string
		query     application.ListConversationsQuery
		wantStore *domain.ConversationPageQuery // nil: the store is not asked
		result    domain.ConversationPage
		err       error
		wantErr   error
	}{
		{name: "first page, default size", query: application.ListConversationsQuery{Principal: alice},
			wantStore: &domain.ConversationPageQuery{Member: "u_alice", Limit: domain.DefaultConversationPageSize}, result: page},
		{name: "after a cursor", query: application.ListConversationsQuery{Principal: alice, After: cursor, Limit: 2},
			wantStore: &domain.ConversationPageQuery{Member: "u_alice", After: cursor, Limit: 2}, result: page},
		{name: "largest page", query: application.ListConversationsQuery{Principal: alice, Limit: domain.MaxConversationPageSize},
			wantStore: &domain.ConversationPageQuery{Member: "u_alice", Limit: domain.MaxConversationPageSize}},
		{name: "page too large", query: application.ListConversationsQuery{Principal: alice, Limit: domain.MaxConversationPageSize + 1},
			wantErr: domain.ErrInvalid},
		{name: "negative size", query: application.ListConversationsQuery{Principal: alice, Limit: -1}, wantErr: domain.ErrInvalid},
		{name: "store fails", query: application.ListConversationsQuery{Principal: alice},
			wantStore: &domain.ConversationPageQuery{Member: "u_alice", Limit: domain.DefaultConversationPageSize},
			err:       domain.ErrUnavailable, wantErr: domain.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tt.wantStore != nil {
				f.convs.EXPECT().ListForMember(gomock.Any(), *tt.wantStore).Return(tt.result, tt.err)
			}
			got, err := application.NewListConversations(f.convs).Execute(t.Context(), tt.query)
			checkErr(t, err, tt.wantErr)
			if !slices.EqualFunc(got.Conversations, tt.result.Conversations, equalConversation) || got.Next != tt.result.Next {
				t.Fatalf("Execute = %+v, want %+v", got, tt.result)
			}
		})
	}
}

func equalConversation(a, b domain.Conversation) bool {
	return a.ID == b.ID && a.Kind == b.Kind && a.Number == b.Number && a.Name == b.Name &&
		slices.Equal(a.MemberIDs, b.MemberIDs) && a.CreatedAt.Equal(b.CreatedAt) && a.LastSeq == b.LastSeq
}

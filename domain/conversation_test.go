package domain_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/domain"
)

var now = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func TestNewDirectMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		caller  domain.UserID
		members []domain.UserID
		want    []domain.UserID // nil when invalid
	}{
		{"caller first", "u_alice", []domain.UserID{"u_alice", "u_bob"}, []domain.UserID{"u_alice", "u_bob"}},
		{"caller second", "u_alice", []domain.UserID{"u_bob", "u_alice"}, []domain.UserID{"u_alice", "u_bob"}},
		{"caller is the greater id", "u_bob", []domain.UserID{"u_bob", "u_alice"}, []domain.UserID{"u_alice", "u_bob"}},
		{"caller not a member", "u_carol", []domain.UserID{"u_alice", "u_bob"}, nil},
		{"same member twice", "u_alice", []domain.UserID{"u_alice", "u_alice"}, nil},
		{"one member", "u_alice", []domain.UserID{"u_alice"}, nil},
		{"three members", "u_alice", []domain.UserID{"u_alice", "u_bob", "u_carol"}, nil},
		{"no members", "u_alice", nil, nil},
		{"empty member id", "u_alice", []domain.UserID{"u_alice", ""}, nil},
		{"member id with a space", "u_alice", []domain.UserID{"u_alice", "u bob"}, nil},
		{"member id too long", "u_alice", []domain.UserID{"u_alice", domain.UserID(strings.Repeat("b", 129))}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			input := slices.Clone(tt.members)
			dm, err := domain.NewDirectMessage("dm_1", tt.caller, input, now)
			if !slices.Equal(input, tt.members) {
				t.Fatalf("NewDirectMessage changed its input to %v", input)
			}
			if tt.want == nil {
				if !errors.Is(err, domain.ErrInvalid) {
					t.Fatalf("NewDirectMessage = %+v, %v; want ErrInvalid", dm, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewDirectMessage: %v", err)
			}
			if dm.ID != "dm_1" || dm.Kind != domain.KindDM || !dm.CreatedAt.Equal(now) || !slices.Equal(dm.MemberIDs, tt.want) {
				t.Fatalf("NewDirectMessage = %+v, want members %v", dm, tt.want)
			}
			if dm.Channel() != domain.DMChannel("dm_1") {
				t.Fatalf("Channel() = %v", dm.Channel())
			}
			if !dm.HasMember(tt.caller) || dm.HasMember("u_carol") {
				t.Fatalf("HasMember is wrong for %v", dm.MemberIDs)
			}
		})
	}
}

func TestNewDirectMessageIsOrderInsensitive(t *testing.T) {
	t.Parallel()
	a, errA := domain.NewDirectMessage("dm_1", "u_zed", []domain.UserID{"u_zed", "u_amy"}, now)
	b, errB := domain.NewDirectMessage("dm_1", "u_zed", []domain.UserID{"u_amy", "u_zed"}, now)
	if errA != nil || errB != nil {
		t.Fatalf("NewDirectMessage: %v, %v", errA, errB)
	}
	if !slices.Equal(a.MemberIDs, b.MemberIDs) {
		t.Fatalf("members differ by input order: %v and %v", a.MemberIDs, b.MemberIDs)
	}
}

func TestNewGroup(t *testing.T) {
	t.Parallel()
	many := make([]domain.UserID, domain.MaxGroupCreateMembers+1)
	for i := range many {
		many[i] = domain.UserID(fmt.Sprintf("u_%d", i))
	}
	tests := []struct {
		name     string
		caller   domain.UserID
		gname    string
		members  []domain.UserID
		wantName string
		want     []domain.UserID // nil when invalid
	}{
		{"caller added first", "u_alice", "Team", []domain.UserID{"u_bob", "u_carol"}, "Team",
			[]domain.UserID{"u_alice", "u_bob", "u_carol"}},
		{"caller named too", "u_alice", "Team", []domain.UserID{"u_bob", "u_alice"}, "Team",
			[]domain.UserID{"u_alice", "u_bob"}},
		{"duplicates removed in first-seen order", "u_alice", "Team", []domain.UserID{"u_carol", "u_bob", "u_carol", "u_bob"}, "Team",
			[]domain.UserID{"u_alice", "u_carol", "u_bob"}},
		{"no other members", "u_alice", "Solo", nil, "Solo", []domain.UserID{"u_alice"}},
		{"name trimmed", "u_alice", "  Team \n", nil, "Team", []domain.UserID{"u_alice"}},
		{"name of 200 characters", "u_alice", strings.Repeat("ü", 200), nil, strings.Repeat("ü", 200), []domain.UserID{"u_alice"}},
		{"1000 members", "u_alice", "Big", many[:1000], "Big", append([]domain.UserID{"u_alice"}, many[:1000]...)},

		{"empty name", "u_alice", "", nil, "", nil},
		{"white space name", "u_alice", " \t ", nil, "", nil},
		{"name of 201 characters", "u_alice", strings.Repeat("ü", 201), nil, "", nil},
		{"invalid UTF-8 name", "u_alice", "Team \xff", nil, "", nil},
		{"NUL in the name", "u_alice", "Te\x00am", nil, "", nil},
		{"1001 members", "u_alice", "Big", many, "", nil},
		{"bad member id", "u_alice", "Team", []domain.UserID{"u_bob", ""}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := domain.NewGroup("grp_1", tt.caller, tt.gname, tt.members, now)
			if tt.want == nil {
				if !errors.Is(err, domain.ErrInvalid) {
					t.Fatalf("NewGroup = %+v, %v; want ErrInvalid", g, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewGroup: %v", err)
			}
			if g.ID != "grp_1" || g.Kind != domain.KindGroup || g.Name != tt.wantName || !g.CreatedAt.Equal(now) {
				t.Fatalf("NewGroup = %+v", g)
			}
			if !slices.Equal(g.MemberIDs, tt.want) {
				t.Fatalf("members = %v, want %v", g.MemberIDs, tt.want)
			}
		})
	}
}

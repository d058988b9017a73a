package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/relaymsg/relay/domain"
)

func TestParseChannelID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    domain.ChannelID
		wantErr bool
	}{
		{in: "dm:dm_1", want: domain.DMChannel("dm_1")},
		{in: "group:grp_abc", want: domain.GroupChannel("grp_abc")},
		{in: "group:" + strings.Repeat("x", domain.MaxIDLength), want: domain.GroupChannel(domain.ConversationID(strings.Repeat("x", domain.MaxIDLength)))},
		{in: "", wantErr: true},
		{in: "dm", wantErr: true},
		{in: "dm_1", wantErr: true},
		{in: "dm:", wantErr: true},
		{in: ":dm_1", wantErr: true},
		{in: "chat:dm_1", wantErr: true},
		{in: "DM:dm_1", wantErr: true},
		{in: "dm:dm:1", wantErr: true},
		{in: "dm:dm 1", wantErr: true},
		{in: "dm:dm_1\n", wantErr: true},
		{in: "dm:dm_é", wantErr: true},
		{in: "dm:dm_\x7f", wantErr: true},
		{in: "group:" + strings.Repeat("x", domain.MaxIDLength+1), wantErr: true},
		{in: "user:u_alice", want: domain.UserChannel("u_alice")},
		{in: "user:a:b", want: domain.UserChannel("a:b")},
		{in: "user:auth0|a/b%2F:c", want: domain.UserChannel("auth0|a/b%2F:c")},
		{in: "user::", want: domain.UserChannel(":")},
		{in: "user:" + strings.Repeat("u", domain.MaxIDLength), want: domain.UserChannel(domain.UserID(strings.Repeat("u", domain.MaxIDLength)))},
		{in: "user:", wantErr: true},
		{in: "user", wantErr: true},
		{in: "User:u_alice", wantErr: true},
		{in: "user:u alice", wantErr: true},
		{in: "user:u_é", wantErr: true},
		{in: "user:" + strings.Repeat("u", domain.MaxIDLength+1), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := domain.ParseChannelID(tt.in)
			if tt.wantErr {
				if !errors.Is(err, domain.ErrInvalid) {
					t.Fatalf("ParseChannelID(%q) = %v, %v; want ErrInvalid", tt.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseChannelID(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseChannelID(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if got.String() != tt.in {
				t.Fatalf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestParseConversationChannelRejectsUserChannels(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"user:u_alice", "user:a:b"} {
		if ch, err := domain.ParseConversationChannel(in); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("ParseConversationChannel(%q) = %v, %v; want ErrInvalid", in, ch, err)
		}
	}
	if ch, err := domain.ParseConversationChannel("group:grp_1"); err != nil || ch != domain.GroupChannel("grp_1") {
		t.Errorf("ParseConversationChannel(group:grp_1) = %v, %v", ch, err)
	}
}

func TestUserChannel(t *testing.T) {
	t.Parallel()
	ch := domain.UserChannel("a:b")
	if u, ok := ch.User(); !ok || u != "a:b" {
		t.Errorf("User() = %q, %v; want a:b, true", u, ok)
	}
	if ch.IsConversation() || ch.Kind.Valid() {
		t.Errorf("user channel %v counts as a conversation", ch)
	}
	if _, ok := domain.GroupChannel("grp_1").User(); ok {
		t.Error("a group channel has a user")
	}
	if !domain.DMChannel("dm_1").IsConversation() {
		t.Error("a dm channel is not a conversation")
	}
	// A user whose id looks like a conversation's gets a different channel.
	if domain.UserChannel("dm_1") == domain.DMChannel("dm_1") {
		t.Error("user channel equals a dm channel of the same id")
	}
}

func TestUserLogEvents(t *testing.T) {
	t.Parallel()
	conv := domain.GroupChannel("grp_1")
	for _, ev := range []domain.Event{
		domain.MemberJoinedEvent("a:b", conv, 3),
		domain.MemberLeftEvent("a:b", conv, 4),
		domain.ReadMovedEvent("a:b", conv, 17, 5),
	} {
		if !ev.Kind.UserLogEvent() || ev.Channel != domain.UserChannel("a:b") || ev.Conversation != conv || ev.UserSeq < 3 {
			t.Errorf("event %+v", ev)
		}
	}
	for _, k := range []domain.EventKind{domain.EventMessage, domain.EventMemberRemoved, domain.EventResync, domain.EventHead, domain.EventGuardedMessage} {
		if k.UserLogEvent() {
			t.Errorf("kind %d is a user-log event", k)
		}
	}
}

func TestChannelOfConversation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		conv domain.Conversation
		want string
	}{
		{domain.Conversation{ID: "dm_1", Kind: domain.KindDM}, "dm:dm_1"},
		{domain.Conversation{ID: "grp_1", Kind: domain.KindGroup}, "group:grp_1"},
	}
	for _, tt := range tests {
		if got := tt.conv.Channel().String(); got != tt.want {
			t.Errorf("Channel() of %v = %q, want %q", tt.conv, got, tt.want)
		}
	}
	if domain.KindDM.IDPrefix() != "dm" || domain.KindGroup.IDPrefix() != "grp" {
		t.Errorf("IDPrefix() = %q, %q; want dm, grp", domain.KindDM.IDPrefix(), domain.KindGroup.IDPrefix())
	}
	if domain.ConversationKind("chat").Valid() {
		t.Error(`ConversationKind("chat") is valid`)
	}
}

func TestChannelOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id     domain.ConversationID
		want   domain.ChannelID
		wantOK bool
	}{
		{"dm_01j", domain.DMChannel("dm_01j"), true},
		{"grp_01j", domain.GroupChannel("grp_01j"), true},
		{"dm_", domain.ChannelID{}, false},
		{"grp_", domain.ChannelID{}, false},
		{"grp01j", domain.ChannelID{}, false},
		{"msg_01j", domain.ChannelID{}, false},
		{"", domain.ChannelID{}, false},
	}
	for _, tt := range tests {
		got, ok := domain.ChannelOf(tt.id)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ChannelOf(%q) = %v, %v; want %v, %v", tt.id, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestValidationErrorIsErrInvalid(t *testing.T) {
	t.Parallel()
	err := domain.Invalid("content", "is required")
	if !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("errors.Is(%v, ErrInvalid) = false", err)
	}
	for _, other := range []error{domain.ErrNotFound, domain.ErrForbidden, domain.ErrConflict, domain.ErrUnavailable} {
		if errors.Is(err, other) {
			t.Fatalf("a ValidationError is also %v", other)
		}
	}
	var ve *domain.ValidationError
	if !errors.As(err, &ve) || ve.Field != "content" || ve.Reason != "is required" {
		t.Fatalf("errors.As gave %#v", ve)
	}
	if err.Error() != "content: is required" {
		t.Fatalf("Error() = %q", err.Error())
	}
	wrapped := errors.Join(errors.New("context"), err)
	if !errors.Is(wrapped, domain.ErrInvalid) {
		t.Fatal("a wrapped ValidationError is not ErrInvalid")
	}
}

func TestPrincipalCanAccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		admin, member, want bool
	}{
		{false, false, false},
		{false, true, true},
		{true, false, true},
		{true, true, true},
	}
	for _, tt := range tests {
		p := domain.Principal{UserID: "u", Admin: tt.admin}
		if got := p.CanAccess(tt.member); got != tt.want {
			t.Errorf("admin=%v CanAccess(%v) = %v, want %v", tt.admin, tt.member, got, tt.want)
		}
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	m := domain.Message{ID: "msg_1", Channel: domain.GroupChannel("grp_1"), Seq: 3}
	ev := domain.MessageEvent(m)
	if ev.Kind != domain.EventMessage || ev.Channel != m.Channel || ev.Message != m {
		t.Errorf("MessageEvent = %+v", ev)
	}
	ev = domain.MemberRemovedEvent(m.Channel, "u_bob")
	if ev.Kind != domain.EventMemberRemoved || ev.Channel != m.Channel || ev.UserID != "u_bob" {
		t.Errorf("MemberRemovedEvent = %+v", ev)
	}
}

package wire_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/wire"
	"github.com/relaymsg/relay/domain"
)

var (
	dm    = domain.DMChannel("dm_01jx")
	group = domain.GroupChannel("grp_01jy")
	// A user id with what a conversation id may not have.
	odd  = domain.UserID("auth0|a:b/c%2F")
	user = domain.UserChannel(odd)
	at   = time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)
)

func message(ch domain.ChannelID, seq int64, content string) domain.Event {
	return domain.MessageEvent(domain.Message{
		ID: "msg_01jz", Channel: ch, Seq: seq, SenderID: "u_alice", PersonaID: "p_42",
		Content: content, ClientMessageID: "c-123", CreatedAt: at,
	})
}

// equal compares events field by field, times with Equal: a decoded time
// is in UTC whatever the location of the encoded one.
func equal(a, b domain.Event) bool {
	ma, mb := a.Message, b.Message
	ma.CreatedAt, mb.CreatedAt = time.Time{}, time.Time{}
	return a.Kind == b.Kind && a.Channel == b.Channel && a.UserID == b.UserID && ma == mb &&
		a.Message.CreatedAt.Equal(b.Message.CreatedAt) &&
		a.Conversation == b.Conversation && a.UserSeq == b.UserSeq && a.ReadSeq == b.ReadSeq
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	inParis := message(group, 7, "bonjour")
	inParis.Message.CreatedAt = at.In(time.FixedZone("CET", 3600))
	minimal := domain.MessageEvent(domain.Message{ID: "msg_1", Channel: dm, Seq: 1, SenderID: "u_b", CreatedAt: at})
	tests := []struct {
		name string
		ev   domain.Event
	}{
		{"message", message(dm, 17, "hi")},
		{"message in another zone", inParis},
		{"message without optional fields", minimal},
		{"message with markup and unicode", message(group, 3, "<b>a & b</b> \u2028 é 👋 \"q\" \\ \n\t\x01")},
		{"member removed", domain.MemberRemovedEvent(group, "u_bob")},
		{"resync", domain.Event{Kind: domain.EventResync, Channel: dm}},
		{"member joined", domain.MemberJoinedEvent(odd, group, 1)},
		{"member left", domain.MemberLeftEvent(odd, dm, 1<<62)},
		{"read moved", domain.ReadMovedEvent(odd, group, 17, 4)},
		{"read moved to 0", domain.ReadMovedEvent(odd, group, 0, 5)},
		{"user channel resync", domain.Event{Kind: domain.EventResync, Channel: user}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := wire.Encode(tt.ev, "inst-1")
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			env, err := wire.Decode(b)
			if err != nil {
				t.Fatalf("Decode(%s): %v", b, err)
			}
			if env.Version != wire.Version || env.Origin != "inst-1" || env.Partial {
				t.Fatalf("envelope = %+v, want version %d, origin inst-1, not partial", env, wire.Version)
			}
			if !equal(env.Event, tt.ev) {
				t.Fatalf("decoded %+v\nwant     %+v", env.Event, tt.ev)
			}
		})
	}
}

// TestFormat pins the version 1 format: instances of different builds read
// each other's envelopes, so a change here is a protocol change.
func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   domain.Event
		want string
	}{
		{"message", message(dm, 17, "a<b"),
			`{"v":1,"o":"i1","k":"m","c":"dm:dm_01jx","id":"msg_01jz","s":17,"u":"u_alice","p":"p_42","b":"a<b","cm":"c-123","t":"2025-01-02T03:04:05.123456789Z"}`},
		{"member removed", domain.MemberRemovedEvent(group, "u_bob"),
			`{"v":1,"o":"i1","k":"r","c":"group:grp_01jy","u":"u_bob"}`},
		{"resync", domain.Event{Kind: domain.EventResync, Channel: dm},
			`{"v":1,"o":"i1","k":"s","c":"dm:dm_01jx"}`},
		{"member joined", domain.MemberJoinedEvent(odd, group, 3),
			`{"v":1,"o":"i1","k":"j","c":"user:auth0|a:b/c%2F","cv":"group:grp_01jy","us":3}`},
		{"member left", domain.MemberLeftEvent(odd, dm, 4),
			`{"v":1,"o":"i1","k":"l","c":"user:auth0|a:b/c%2F","cv":"dm:dm_01jx","us":4}`},
		{"read moved", domain.ReadMovedEvent(odd, group, 17, 5),
			`{"v":1,"o":"i1","k":"rd","c":"user:auth0|a:b/c%2F","cv":"group:grp_01jy","us":5,"rs":17}`},
		{"user channel resync", domain.Event{Kind: domain.EventResync, Channel: user},
			`{"v":1,"o":"i1","k":"s","c":"user:auth0|a:b/c%2F"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := wire.Encode(tt.ev, "i1")
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Fatalf("Encode = %s\nwant     %s", b, tt.want)
			}
		})
	}
}

func TestEncodeLimited(t *testing.T) {
	t.Parallel()
	big := message(dm, 9, strings.Repeat("é", domain.MaxContentLength))
	full, err := wire.Encode(big, "i1")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("fits", func(t *testing.T) {
		t.Parallel()
		for _, limit := range []int{0, -1, len(full)} {
			b, err := wire.EncodeLimited(big, "i1", limit, time.Time{})
			if err != nil || string(b) != string(full) {
				t.Fatalf("limit %d: got %d bytes, %v; want the whole envelope", limit, len(b), err)
			}
		}
	})
	t.Run("partial", func(t *testing.T) {
		t.Parallel()
		b, err := wire.EncodeLimited(big, "i1", 7999, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(full) <= 7999 {
			t.Fatalf("test message is only %d bytes", len(full))
		}
		if len(b) > 7999 {
			t.Fatalf("partial envelope is %d bytes", len(b))
		}
		env, err := wire.Decode(b)
		if err != nil {
			t.Fatalf("Decode(%s): %v", b, err)
		}
		want := domain.Event{Kind: domain.EventMessage, Channel: dm, Message: domain.Message{Channel: dm, Seq: 9}}
		if !env.Partial || env.Origin != "i1" || !equal(env.Event, want) {
			t.Fatalf("decoded %+v, want a partial message of %s seq 9", env, dm)
		}
	})
	t.Run("too large", func(t *testing.T) {
		t.Parallel()
		for _, ev := range []domain.Event{big, domain.MemberRemovedEvent(group, "u_bob")} {
			if b, err := wire.EncodeLimited(ev, "i1", 20, time.Time{}); !errors.Is(err, wire.ErrTooLarge) {
				t.Fatalf("EncodeLimited(kind %d, 20 bytes) = %s, %v; want ErrTooLarge", ev.Kind, b, err)
			}
		}
	})
}

func TestEncodeRejects(t *testing.T) {
	t.Parallel()
	noTime := message(dm, 1, "x")
	noTime.Message.CreatedAt = time.Time{}
	otherChannel := message(dm, 1, "x")
	otherChannel.Message.Channel = group
	badText := message(dm, 1, "\xff")
	farFuture := message(dm, 1, "x")
	farFuture.Message.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		ev   domain.Event
	}{
		{"zero event", domain.Event{}},
		{"unknown kind", domain.Event{Kind: 99, Channel: dm}},
		{"zero channel", domain.Event{Kind: domain.EventResync}},
		{"malformed channel", domain.Event{Kind: domain.EventResync, Channel: domain.ChannelID{Kind: "dm", ID: "a:b"}}},
		{"message of another channel", otherChannel},
		{"message without time", noTime},
		{"message with seq 0", message(dm, 0, "x")},
		{"invalid UTF-8", badText},
		{"time past year 9999", farFuture},
		{"member removed without user", domain.MemberRemovedEvent(group, "")},
		{"message on a user channel", domain.Event{Kind: domain.EventMessage, Channel: user,
			Message: domain.Message{ID: "m", Channel: user, Seq: 1, SenderID: "u", CreatedAt: at}}},
		{"member removed on a user channel", domain.MemberRemovedEvent(user, "u_bob")},
		{"member joined on a conversation", domain.Event{Kind: domain.EventMemberJoined, Channel: group, Conversation: group, UserSeq: 1}},
		{"member joined without conversation", domain.MemberJoinedEvent(odd, domain.ChannelID{}, 1)},
		{"member joined of a user channel", domain.MemberJoinedEvent(odd, user, 1)},
		{"member left with user seq 0", domain.MemberLeftEvent(odd, group, 0)},
		{"read moved with user seq 0", domain.ReadMovedEvent(odd, group, 3, 0)},
		{"read moved to a negative seq", domain.ReadMovedEvent(odd, group, -1, 3)},
		{"malformed user channel", domain.MemberJoinedEvent("u 1", group, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if b, err := wire.Encode(tt.ev, "i1"); !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("Encode = %s, %v; want ErrMalformed", b, err)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          string
		want        error
		wantChannel domain.ChannelID // what the receiver may still resync
	}{
		{"empty", ``, wire.ErrMalformed, domain.ChannelID{}},
		{"not JSON", `hello`, wire.ErrMalformed, domain.ChannelID{}},
		{"array", `[1]`, wire.ErrMalformed, domain.ChannelID{}},
		{"no version", `{"k":"s","c":"dm:dm_01jx"}`, wire.ErrMalformed, dm},
		{"newer version", `{"v":2,"k":"x","c":"dm:dm_01jx","s":{"new":"shape"}}`, wire.ErrUnsupportedVersion, dm},
		{"newer version, unreadable channel", `{"v":2,"c":{"id":7}}`, wire.ErrUnsupportedVersion, domain.ChannelID{}},
		{"fractional version", `{"v":1.5,"k":"s","c":"dm:dm_01jx"}`, wire.ErrMalformed, dm},
		{"unknown kind", `{"v":1,"k":"z","c":"group:grp_01jy"}`, wire.ErrMalformed, group},
		{"bad channel", `{"v":1,"k":"s","c":"chan:x"}`, wire.ErrMalformed, domain.ChannelID{}},
		{"message without seq", `{"v":1,"k":"m","c":"dm:dm_01jx","id":"m","u":"u","t":"2025-01-02T03:04:05Z"}`, wire.ErrMalformed, dm},
		{"message with a bad time", `{"v":1,"k":"m","c":"dm:dm_01jx","id":"m","s":1,"u":"u","t":"yesterday"}`, wire.ErrMalformed, dm},
		{"message without sender", `{"v":1,"k":"m","c":"dm:dm_01jx","id":"m","s":1,"t":"2025-01-02T03:04:05Z"}`, wire.ErrMalformed, dm},
		{"partial removal", `{"v":1,"k":"r","c":"dm:dm_01jx","u":"u","partial":true}`, wire.ErrMalformed, dm},
		{"seq of the wrong type", `{"v":1,"k":"m","c":"dm:dm_01jx","s":"1","partial":true}`, wire.ErrMalformed, dm},
		// A kind newer than this reader on a user channel: the receiver
		// resyncs the user channel, which re-reads the user's log.
		{"unknown kind on a user channel", `{"v":1,"k":"z","c":"user:a:b","us":3}`, wire.ErrMalformed, domain.UserChannel("a:b")},
		{"member joined without user seq", `{"v":1,"k":"j","c":"user:a:b","cv":"dm:dm_01jx"}`, wire.ErrMalformed, domain.UserChannel("a:b")},
		{"member joined of a bad conversation", `{"v":1,"k":"j","c":"user:a","cv":"user:b","us":1}`, wire.ErrMalformed, domain.UserChannel("a")},
		{"left with a read seq", `{"v":1,"k":"l","c":"user:a","cv":"dm:dm_01jx","us":1,"rs":2}`, wire.ErrMalformed, domain.UserChannel("a")},
		{"read moved on a conversation", `{"v":1,"k":"rd","c":"dm:dm_01jx","cv":"dm:dm_01jx","us":1,"rs":2}`, wire.ErrMalformed, dm},
		{"message on a user channel", `{"v":1,"k":"m","c":"user:a","id":"m","s":1,"u":"u","t":"2025-01-02T03:04:05Z"}`, wire.ErrMalformed, domain.UserChannel("a")},
		{"user seq of the wrong type", `{"v":1,"k":"j","c":"user:a","cv":"dm:dm_01jx","us":"1"}`, wire.ErrMalformed, domain.UserChannel("a")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, err := wire.Decode([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %+v, %v; want %v", env, err, tt.want)
			}
			if env.Event.Channel != tt.wantChannel {
				t.Fatalf("channel = %v, want %v", env.Event.Channel, tt.wantChannel)
			}
		})
	}
}

// TestDecodeIgnoresUnknownKeys: version 1 may grow keys without breaking
// older readers.
func TestDecodeIgnoresUnknownKeys(t *testing.T) {
	t.Parallel()
	env, err := wire.Decode([]byte(`{"v":1,"o":"i2","k":"r","c":"group:grp_01jy","u":"u_bob","later":{"x":[1]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := domain.MemberRemovedEvent(group, "u_bob"); !equal(env.Event, want) {
		t.Fatalf("decoded %+v, want %+v", env.Event, want)
	}
}

func TestSentStamp(t *testing.T) {
	t.Parallel()
	ev := message(dm, 3, "hi")
	sent := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	b, err := wire.EncodeLimited(ev, "i1", 0, sent)
	if err != nil {
		t.Fatal(err)
	}
	env, err := wire.Decode(b)
	if err != nil {
		t.Fatalf("Decode(%s): %v", b, err)
	}
	if want := sent.Truncate(time.Microsecond); !env.Sent.Equal(want) || !equal(env.Event, ev) {
		t.Fatalf("decoded sent %v and %+v, want %v and the message", env.Sent, env.Event, want)
	}
	// Unstamped, as an older publisher writes it.
	b, err = wire.EncodeLimited(ev, "i1", 0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"st"`) {
		t.Fatalf("unstamped envelope %s has a stamp", b)
	}
	if env, err := wire.Decode(b); err != nil || !env.Sent.IsZero() {
		t.Fatalf("Decode(unstamped) sent %v, %v; want zero", env.Sent, err)
	}
}

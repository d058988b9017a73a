package domain_test

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/domain"
)

var pageTime = time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC)

func TestConversationCursorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range []domain.ConversationCursor{
		{CreatedAt: pageTime, Number: 1},
		{CreatedAt: pageTime, Number: 1 << 40},
		{CreatedAt: time.UnixMicro(0).UTC(), Number: 7},
	} {
		s := c.String()
		if strings.ContainsAny(s, "+/=%&?#\r\n") {
			t.Errorf("%+v encodes as %q, which a query string would mangle", c, s)
		}
		got, err := domain.ParseConversationCursor(s)
		if err != nil || !got.CreatedAt.Equal(c.CreatedAt) || got.Number != c.Number || got.CreatedAt.Location() != time.UTC {
			t.Errorf("ParseConversationCursor(%q) = %+v, %v; want %+v", s, got, err, c)
		}
	}
}

// rawConversationCursor encodes a version byte and varints as the cursor's
// text would, to build cursors String never makes.
func rawConversationCursor(version byte, vs ...uint64) string {
	buf := []byte{version}
	for _, v := range vs {
		buf = binary.AppendUvarint(buf, v)
	}
	return base64.RawURLEncoding.EncodeToString(buf)
}

func TestParseConversationCursorRefuses(t *testing.T) {
	t.Parallel()
	good := domain.ConversationCursor{CreatedAt: pageTime, Number: 3}.String()
	micros := uint64(pageTime.UnixMicro())
	for name, s := range map[string]string{
		"empty":            "",
		"not base64":       "!!!",
		"padded":           good + "==",
		"another version":  rawConversationCursor('d', micros, 3),
		"version only":     rawConversationCursor('c'),
		"no number":        rawConversationCursor('c', micros),
		"number zero":      rawConversationCursor('c', micros, 0),
		"trailing bytes":   rawConversationCursor('c', micros, 3, 9),
		"huge number":      rawConversationCursor('c', micros, 1<<63),
		"too long":         strings.Repeat("A", 64),
		"stream cursor":    domain.NewCursor(domain.Position{Number: 1, Seq: 2}).String(),
		"with a line feed": good[:4] + "\n" + good[4:],
	} {
		if _, err := domain.ParseConversationCursor(s); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%s: ParseConversationCursor(%q) error = %v; want ErrInvalid", name, s, err)
		}
	}
}

func TestConversationCursorBefore(t *testing.T) {
	t.Parallel()
	c := domain.ConversationCursor{CreatedAt: pageTime, Number: 5}
	conv := func(at time.Time, n int64) domain.Conversation { return domain.Conversation{CreatedAt: at, Number: n} }
	tests := []struct {
		name string
		x    domain.Conversation
		want bool
	}{
		{"older", conv(pageTime.Add(-time.Microsecond), 99), true},
		{"same time, lower number", conv(pageTime, 4), true},
		{"the position itself", conv(pageTime, 5), false},
		{"same time, higher number", conv(pageTime, 6), false},
		{"newer", conv(pageTime.Add(time.Microsecond), 1), false},
	}
	for _, tt := range tests {
		if got := c.Before(tt.x); got != tt.want {
			t.Errorf("%s: Before = %v; want %v", tt.name, got, tt.want)
		}
	}
	if !(domain.ConversationCursor{}).Before(conv(pageTime, 1)) {
		t.Error("the zero cursor is not before every conversation")
	}
}

func TestValidateGroupSize(t *testing.T) {
	t.Parallel()
	g := domain.Conversation{MemberIDs: []domain.UserID{"u_a", "u_b", "u_c"}}
	if err := domain.ValidateGroupSize(g, 3); err != nil {
		t.Fatalf("3 members, limit 3: %v", err)
	}
	if err := domain.ValidateGroupSize(g, 2); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("3 members, limit 2: %v; want ErrInvalid", err)
	}
}

func FuzzParseConversationCursor(f *testing.F) {
	for _, seed := range []string{
		"", "AQ", domain.ConversationCursor{CreatedAt: pageTime, Number: 3}.String(),
		rawConversationCursor('c', 1<<62, 1<<62), rawConversationCursor(2, 1, 1), "////",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := domain.ParseConversationCursor(s)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("ParseConversationCursor(%q) error %v is not ErrInvalid", s, err)
			}
			return
		}
		if got := c.String(); got != s {
			t.Fatalf("ParseConversationCursor(%q).String() = %q", s, got)
		}
	})
}

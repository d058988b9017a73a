package domain_test

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/relaymsg/relay/domain"
)

// encodeRaw builds a cursor's text form by hand: the version byte followed by
// the given unsigned varints, in base64url without padding.
func encodeRaw(version byte, varints ...uint64) string {
	buf := []byte{version}
	for _, v := range varints {
		buf = binary.AppendUvarint(buf, v)
	}
	return base64.RawURLEncoding.EncodeToString(buf)
}

// randomCursor returns a cursor of up to maxChannels positions with numbers
// in [0, maxNumber] and seqs in [0, maxSeq], and the model it should equal.
func randomCursor(r *rand.Rand, maxChannels int, maxNumber, maxSeq int64) (domain.Cursor, map[int64]int64) {
	model := make(map[int64]int64)
	n := r.IntN(maxChannels + 1)
	positions := make([]domain.Position, 0, n)
	for range n {
		p := domain.Position{Number: r.Int64N(maxNumber + 1), Seq: r.Int64N(maxSeq + 1)}
		positions = append(positions, p)
		model[p.Number] = p.Seq // a later position for the same number wins
	}
	return domain.NewCursor(positions...), model
}

func positionsOf(model map[int64]int64) []domain.Position {
	out := make([]domain.Position, 0, len(model))
	for _, n := range slices.Sorted(maps.Keys(model)) {
		out = append(out, domain.Position{Number: n, Seq: model[n]})
	}
	return out
}

func assertPositions(t *testing.T, c domain.Cursor, want []domain.Position) {
	t.Helper()
	got := c.Positions()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("positions = %v, want %v", got, want)
	}
	if c.Len() != len(want) {
		t.Fatalf("Len() = %d, want %d", c.Len(), len(want))
	}
}

// assertWireSafe checks that s may be an SSE id, an HTTP header value and a
// URL query value as is.
func assertWireSafe(t *testing.T, s string) {
	t.Helper()
	if strings.ContainsAny(s, "\r\n\x00:") {
		t.Fatalf("cursor %q contains CR, LF, NUL or ':'", s)
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			t.Fatalf("cursor %q contains %q, which is not base64url", s, r)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		maxChannels int
		maxNumber   int64
		maxSeq      int64
	}{
		{"small", 3, 10, 10},
		{"realistic", 100, 10_000_000, 1_000_000},
		{"wide numbers", 100, 1 << 62, 1 << 62},
		{"many channels", 300, 1 << 40, 1 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(42, uint64(len(tt.name))))
			for range 500 {
				c, model := randomCursor(r, tt.maxChannels, tt.maxNumber, tt.maxSeq)
				want := positionsOf(model)
				assertPositions(t, c, want)

				s := c.String()
				assertWireSafe(t, s)
				parsed, err := domain.ParseCursor(s)
				if err != nil {
					t.Fatalf("ParseCursor(%q) of %v: %v", s, want, err)
				}
				assertPositions(t, parsed, want)
				if again := parsed.String(); again != s {
					t.Fatalf("re-encoding changed the cursor: %q, then %q", s, again)
				}
				for n, seq := range model {
					if got, ok := parsed.Seq(n); !ok || got != seq {
						t.Fatalf("Seq(%d) = %d, %v; want %d, true", n, got, ok, seq)
					}
				}
			}
		})
	}
}

func TestCursorEmpty(t *testing.T) {
	t.Parallel()
	var zero domain.Cursor
	if zero.Len() != 0 {
		t.Fatalf("zero cursor Len() = %d", zero.Len())
	}
	if _, ok := zero.Seq(1); ok {
		t.Fatal("zero cursor names channel 1")
	}
	parsed, err := domain.ParseCursor(zero.String())
	if err != nil {
		t.Fatalf("ParseCursor(%q): %v", zero.String(), err)
	}
	if parsed.Len() != 0 {
		t.Fatalf("parsed empty cursor has %d positions", parsed.Len())
	}
}

func TestCursorWithWithoutSeq(t *testing.T) {
	t.Parallel()
	base := domain.NewCursor(domain.Position{Number: 7, Seq: 70}, domain.Position{Number: 3, Seq: 30})
	tests := []struct {
		name string
		got  domain.Cursor
		want []domain.Position
	}{
		{"NewCursor sorts", base, []domain.Position{{Number: 3, Seq: 30}, {Number: 7, Seq: 70}}},
		{"NewCursor later position wins", domain.NewCursor(domain.Position{Number: 1, Seq: 5}, domain.Position{Number: 1, Seq: 2}),
			[]domain.Position{{Number: 1, Seq: 2}}},
		{"With adds in order", base.With(5, 50), []domain.Position{{Number: 3, Seq: 30}, {Number: 5, Seq: 50}, {Number: 7, Seq: 70}}},
		{"With adds first", base.With(1, 0), []domain.Position{{Number: 1, Seq: 0}, {Number: 3, Seq: 30}, {Number: 7, Seq: 70}}},
		{"With adds last", base.With(9, 90), []domain.Position{{Number: 3, Seq: 30}, {Number: 7, Seq: 70}, {Number: 9, Seq: 90}}},
		{"With replaces", base.With(7, 71), []domain.Position{{Number: 3, Seq: 30}, {Number: 7, Seq: 71}}},
		{"With may go back", base.With(7, 1), []domain.Position{{Number: 3, Seq: 30}, {Number: 7, Seq: 1}}},
		{"Without removes", base.Without(3), []domain.Position{{Number: 7, Seq: 70}}},
		{"Without unknown is a no-op", base.Without(5), []domain.Position{{Number: 3, Seq: 30}, {Number: 7, Seq: 70}}},
		{"Without all", base.Without(3).Without(7), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assertPositions(t, tt.got, tt.want)
		})
	}
	// With and Without return copies: base is unchanged by all of the above.
	assertPositions(t, base, []domain.Position{{Number: 3, Seq: 30}, {Number: 7, Seq: 70}})
	if seq, ok := base.Seq(7); !ok || seq != 70 {
		t.Fatalf("Seq(7) = %d, %v; want 70, true", seq, ok)
	}
	if _, ok := base.Seq(5); ok {
		t.Fatal("Seq(5) found a channel the cursor does not name")
	}
	// Positions returns a copy too.
	ps := base.Positions()
	ps[0].Seq = 999
	if seq, _ := base.Seq(3); seq != 30 {
		t.Fatalf("changing Positions() changed the cursor: Seq(3) = %d", seq)
	}
}

// TestCursorModel applies random With and Without calls to a cursor and to a
// map, and checks that they agree after every step.
func TestCursorModel(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 11))
	var c domain.Cursor
	model := make(map[int64]int64)
	for range 5000 {
		n := r.Int64N(40)
		if r.IntN(3) == 0 {
			c = c.Without(n)
			delete(model, n)
			if _, ok := c.Seq(n); ok {
				t.Fatalf("Seq(%d) found after Without", n)
			}
		} else {
			seq := r.Int64N(1000)
			before := c.String()
			next := c.With(n, seq)
			if c.String() != before {
				t.Fatal("With changed its receiver")
			}
			c = next
			model[n] = seq
		}
		assertPositions(t, c, positionsOf(model))
	}
}

func TestCursorLengthFor100Channels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		maxNumber int64
		maxSeq    int64
	}{
		// Ten million conversations, channels with up to a million messages.
		{"ten million conversations", 10_000_000, 1_000_000},
		// Conversation numbers anywhere in a 32-bit serial, busy channels.
		{"32-bit numbers", 1<<31 - 1, 2_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, uint64(tt.maxNumber)))
			longest := 0
			for range 200 {
				var c domain.Cursor
				for c.Len() < 100 {
					c = c.With(1+r.Int64N(tt.maxNumber), tt.maxSeq/2+r.Int64N(tt.maxSeq/2+1))
				}
				s := c.String()
				assertWireSafe(t, s)
				longest = max(longest, len(s))
			}
			if longest > 1024 {
				t.Fatalf("a cursor of 100 channels is %d bytes long, want at most 1024", longest)
			}
			t.Logf("longest cursor of 100 channels: %d bytes", longest)
		})
	}
}

func TestParseCursorRejects(t *testing.T) {
	t.Parallel()
	valid := encodeRaw(1, 5, 50, 2, 20) // numbers 5 and 7
	if _, err := domain.ParseCursor(valid); err != nil {
		t.Fatalf("the valid example does not parse: %v", err)
	}
	var huge domain.Cursor
	for i := range int64(400) {
		huge = huge.With(1+i*(1<<50), 1<<60)
	}
	if len(huge.String()) <= domain.MaxCursorLength {
		t.Fatalf("the overlong example is only %d bytes", len(huge.String()))
	}

	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"garbage", "not a cursor!"},
		{"std base64 alphabet", "AQ+/"},
		{"padding", valid + "=="},
		{"non-ASCII", "AQé"},
		{"space", "AQ IF"},
		{"colon", "AQ:IF"},
		{"invalid base64 length", "A"},
		{"version 0", encodeRaw(0, 5, 50)},
		{"version 2", encodeRaw(2, 5, 50)},
		{"version 255", encodeRaw(255)},
		{"number without seq", encodeRaw(1, 5)},
		{"truncated varint", base64.RawURLEncoding.EncodeToString([]byte{1, 5, 0x80})},
		{"varint longer than 64 bits", base64.RawURLEncoding.EncodeToString(
			[]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0})},
		{"duplicate number", encodeRaw(1, 5, 50, 0, 60)},
		{"seq above 2^62", encodeRaw(1, 5, 1<<62+1)},
		{"delta above 2^62", encodeRaw(1, 1<<62+1, 0)},
		{"number overflows int64", encodeRaw(1, 1<<62, 0, 1<<62, 0)},
		{"overlong", huge.String()},
		{"overlong padding of a valid cursor", valid + strings.Repeat("A", domain.MaxCursorLength)},
		// Only the canonical text of a cursor is accepted, so that a cursor
		// has exactly one text form.
		{"trailing newline", valid + "\n"},
		{"embedded CR LF", valid[:4] + "\r\n" + valid[4:]},
		{"non-minimal varint", base64.RawURLEncoding.EncodeToString([]byte{1, 0x85, 0x00, 50})},
		{"non-zero trailing bits", valid[:len(valid)-1] + string(valid[len(valid)-1]+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := domain.ParseCursor(tt.in)
			if err == nil {
				t.Fatalf("ParseCursor(%q) = %v, want an error", tt.in, c.Positions())
			}
			if !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("ParseCursor(%q) error %v is not ErrInvalid", tt.in, err)
			}
		})
	}
}

func FuzzParseCursor(f *testing.F) {
	for _, seed := range []string{
		"",
		"AQ",
		"AQIF",
		domain.NewCursor(domain.Position{Number: 1, Seq: 1}, domain.Position{Number: 1 << 40, Seq: 1 << 50}).String(),
		encodeRaw(1, 5, 50, 0, 60),
		encodeRaw(2, 5, 50),
		encodeRaw(1, 1<<62, 0, 1<<62, 0),
		"AQ+/",
		"AQIF\n",
		"////",
		strings.Repeat("A", 100),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := domain.ParseCursor(s)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("ParseCursor(%q) error %v is not ErrInvalid", s, err)
			}
			return
		}
		if got := c.String(); got != s {
			t.Fatalf("ParseCursor(%q).String() = %q", s, got)
		}
		again, err := domain.ParseCursor(c.String())
		if err != nil {
			t.Fatalf("re-parsing %q: %v", c.String(), err)
		}
		if !slices.Equal(again.Positions(), c.Positions()) {
			t.Fatalf("re-parsing %q gave %v, want %v", s, again.Positions(), c.Positions())
		}
		ps := c.Positions()
		for i, p := range ps {
			if p.Number < 0 || p.Seq < 0 {
				t.Fatalf("negative position %v in %q", p, s)
			}
			if i > 0 && ps[i-1].Number >= p.Number {
				t.Fatalf("positions of %q not strictly ascending: %v", s, ps)
			}
		}
	})
}

func TestCursorAdvanceInPlace(t *testing.T) {
	t.Parallel()
	c := domain.NewCursor(domain.Position{Number: 1, Seq: 5}, domain.Position{Number: 9, Seq: 2})
	own := c.Clone()
	if !own.AdvanceInPlace(9, 3) {
		t.Fatal("AdvanceInPlace of a named conversation reported false")
	}
	if own.AdvanceInPlace(4, 1) {
		t.Fatal("AdvanceInPlace of a conversation the cursor does not name reported true")
	}
	if seq, _ := own.Seq(9); seq != 3 || own.Len() != 2 {
		t.Fatalf("after AdvanceInPlace: %v", own.Positions())
	}
	if seq, _ := c.Seq(9); seq != 2 {
		t.Fatalf("the original moved with its clone: %v", c.Positions())
	}
}

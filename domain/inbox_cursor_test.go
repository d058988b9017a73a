package domain_test

import (
	"strings"
	"testing"

	"github.com/relaymsg/relay/domain"
)

func TestInboxCursorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range []domain.InboxCursor{
		{},
		{UserSeq: 7, Watermark: 113_700},
		{UserSeq: 1, Watermark: 2, Except: domain.NewCursor(domain.Position{Number: 3, Seq: 0}, domain.Position{Number: 9, Seq: 41})},
	} {
		s := c.String()
		if strings.ContainsAny(s, "\r\n\x00:") {
			t.Fatalf("%+v encodes as %q, which an SSE id cannot carry", c, s)
		}
		got, err := domain.ParseInboxCursor(s)
		if err != nil || got.UserSeq != c.UserSeq || got.Watermark != c.Watermark || got.Except.String() != c.Except.String() {
			t.Fatalf("ParseInboxCursor(%q) = %+v, %v; want %+v", s, got, err, c)
		}
	}
}

// The largest cursor a stream may hand out stays within API.md's 2048
// bytes: MaxInboxExceptions conversations with numbers and seqs far beyond
// any real deployment's, and the largest log seq and watermark.
func TestInboxCursorBound(t *testing.T) {
	t.Parallel()
	var positions []domain.Position
	for i := range domain.MaxInboxExceptions {
		positions = append(positions, domain.Position{Number: int64(1)<<35 + int64(i)*(1<<20), Seq: 1<<35 - 1})
	}
	c := domain.InboxCursor{UserSeq: 1 << 62, Watermark: 1 << 62, Except: domain.NewCursor(positions...)}
	if n := len(c.String()); n > domain.MaxInboxCursorLength {
		t.Fatalf("a cursor of %d exceptions is %d bytes, over %d", domain.MaxInboxExceptions, n, domain.MaxInboxCursorLength)
	}
	if _, err := domain.ParseInboxCursor(c.String()); err != nil {
		t.Fatal(err)
	}
}

func TestParseInboxCursorRejects(t *testing.T) {
	t.Parallel()
	channel := domain.NewCursor(domain.Position{Number: 1, Seq: 2}).String()
	valid := domain.InboxCursor{UserSeq: 1, Watermark: 2}.String()
	for _, s := range []string{
		"", "!!", channel, valid + "A", strings.Repeat("a", domain.MaxInboxCursorLength+1),
		// a repeated conversation number (delta 0)
		domain.InboxCursor{}.String() + "AAAA",
	} {
		if _, err := domain.ParseInboxCursor(s); err == nil {
			t.Errorf("ParseInboxCursor(%q) accepted it", s)
		}
	}
}

func FuzzParseInboxCursor(f *testing.F) {
	f.Add(domain.InboxCursor{UserSeq: 3, Watermark: 9, Except: domain.NewCursor(domain.Position{Number: 2, Seq: 5})}.String())
	f.Add("aQ")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := domain.ParseInboxCursor(s)
		if err != nil {
			return
		}
		if c.String() != s {
			t.Fatalf("ParseInboxCursor(%q) re-encodes as %q", s, c.String())
		}
	})
}

package domain

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
)

// cursorVersion is the first byte of every encoded cursor; a future format
// gets a new version so old cursors stay readable.
const cursorVersion = 1

// MaxCursorLength bounds the text form of a cursor that ParseCursor accepts.
const MaxCursorLength = 4096

// Position is how far a stream has read one channel: every message with seq
// ≤ Seq has been delivered. Number is the conversation's compact key.
type Position struct {
	Number int64
	Seq    int64
}

// Cursor is the position reached in every channel of one stream. Its text
// form (String) is what an SSE event id carries: a version byte followed by
// (number delta, seq) pairs as unsigned varints, in base64url without
// padding, so it never holds CR, LF, NUL or ':' and stays under about 800
// bytes for 100 channels.
type Cursor struct {
	positions []Position // sorted by Number, unique
}

// NewCursor returns a cursor holding the given positions; a later position
// for the same number wins.
func NewCursor(positions ...Position) Cursor {
	var c Cursor
	for _, p := range positions {
		c = c.With(p.Number, p.Seq)
	}
	return c
}

// Seq returns the position of conversation number n and whether the cursor
// names it.
func (c Cursor) Seq(n int64) (int64, bool) {
	i, ok := slices.BinarySearchFunc(c.positions, n, comparePosition)
	if !ok {
		return 0, false
	}
	return c.positions[i].Seq, true
}

// With returns a copy of c with conversation n at seq.
func (c Cursor) With(n, seq int64) Cursor {
	i, ok := slices.BinarySearchFunc(c.positions, n, comparePosition)
	out := make([]Position, len(c.positions), len(c.positions)+1)
	copy(out, c.positions)
	if ok {
		out[i].Seq = seq
	} else {
		out = slices.Insert(out, i, Position{Number: n, Seq: seq})
	}
	return Cursor{positions: out}
}

// Clone returns a copy of c that shares nothing with it.
func (c Cursor) Clone() Cursor { return Cursor{positions: slices.Clone(c.positions)} }

// AdvanceInPlace sets the position of conversation n, which c must name,
// to seq without copying c, and reports whether c names n (else c is
// unchanged: use With). Every copy of c sees the change, so only the one
// owner of a cursor that no copy outlives may call it: a stream moving
// its own position once per message, where With would copy every
// channel's position each time.
func (c Cursor) AdvanceInPlace(n, seq int64) bool {
	i, ok := slices.BinarySearchFunc(c.positions, n, comparePosition)
	if ok {
		c.positions[i].Seq = seq
	}
	return ok
}

// Without returns a copy of c that no longer names conversation n.
func (c Cursor) Without(n int64) Cursor {
	out := slices.Clone(c.positions)
	if i, ok := slices.BinarySearchFunc(out, n, comparePosition); ok {
		out = slices.Delete(out, i, i+1)
	}
	return Cursor{positions: out}
}

// Positions returns the positions in ascending conversation number.
func (c Cursor) Positions() []Position { return slices.Clone(c.positions) }

// Len returns the number of channels the cursor names.
func (c Cursor) Len() int { return len(c.positions) }

// String encodes the cursor in its compact text form.
func (c Cursor) String() string {
	var raw [128]byte // most cursors fit: no allocation but the string
	return encodeText(appendPositions(append(rawBuffer(raw[:0], len(c.positions)), cursorVersion), c.positions))
}

// rawBuffer is buf, or a buffer with room for positions (deltas and seqs
// of 4 bytes each, more as they grow) when buf has not.
func rawBuffer(buf []byte, positions int) []byte {
	if n := 16 + positions*8; n > cap(buf) {
		return make([]byte, 0, n)
	}
	return buf
}

// encodeText is raw in base64url without padding, the text of both
// cursor forms, allocating only the string when it is short.
func encodeText(raw []byte) string {
	var text [128]byte
	dst := text[:0]
	if n := base64.RawURLEncoding.EncodedLen(len(raw)); n > cap(dst) {
		dst = make([]byte, 0, n)
	}
	return string(base64.RawURLEncoding.AppendEncode(dst, raw))
}

// appendPositions appends positions (sorted by Number, unique) to buf as
// (number delta, seq) pairs of unsigned varints: the body of both cursor
// forms, channel and inbox.
func appendPositions(buf []byte, positions []Position) []byte {
	var prev int64
	for _, p := range positions {
		buf = binary.AppendUvarint(buf, uint64(p.Number-prev))
		buf = binary.AppendUvarint(buf, uint64(p.Seq))
		prev = p.Number
	}
	return buf
}

// readPositions decodes what appendPositions wrote, all of raw; ok is
// false unless the numbers strictly increase and every value is in range.
func readPositions(raw []byte) (positions []Position, ok bool) {
	var prev int64
	for len(raw) > 0 {
		delta, err := readUvarint(&raw)
		if err != nil {
			return nil, false
		}
		seq, err := readUvarint(&raw)
		if err != nil {
			return nil, false
		}
		n := prev + int64(delta)
		if (len(positions) > 0 && delta == 0) || n < prev {
			return nil, false
		}
		positions = append(positions, Position{Number: n, Seq: int64(seq)})
		prev = n
	}
	return positions, true
}

var errBadCursor = Invalid("lastEventId", "is not a cursor issued by this service")

// ParseCursor decodes the text form of a cursor. Anything it did not produce
// is an ErrInvalid.
func ParseCursor(s string) (Cursor, error) {
	if s == "" || len(s) > MaxCursorLength {
		return Cursor{}, errBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) == 0 || raw[0] != cursorVersion {
		return Cursor{}, errBadCursor
	}
	positions, ok := readPositions(raw[1:])
	if !ok {
		return Cursor{}, errBadCursor
	}
	c := Cursor{positions: positions}
	// Base64 decoding skips CR and LF and ignores trailing bits, and a varint
	// may be padded with 0x80 bytes: only the canonical text is accepted, so
	// that a cursor has exactly one text form.
	if c.String() != s {
		return Cursor{}, errBadCursor
	}
	return c, nil
}

func readUvarint(raw *[]byte) (uint64, error) {
	v, n := binary.Uvarint(*raw)
	if n <= 0 || v > 1<<62 {
		return 0, errors.New("bad varint")
	}
	*raw = (*raw)[n:]
	return v, nil
}

func comparePosition(p Position, n int64) int {
	switch {
	case p.Number < n:
		return -1
	case p.Number > n:
		return 1
	}
	return 0
}

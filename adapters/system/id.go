package system

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/relaymsg/relay/ports"
)

// IDLength is the length of the part of an id after its prefix and "_".
const IDLength = 26

// alphabet is Crockford's base32 in lower case. Its characters are in
// ASCII order, so ids compare as strings in the order of the numbers they
// encode, and it leaves out i, l, o and u, which are easily misread.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// IDGenerator makes ids of the form prefix_xxxxxxxxxxxxxxxxxxxxxxxxxx: 26
// base32 characters encoding a 48-bit millisecond Unix timestamp followed
// by 80 random bits (the layout of a ULID). Ids therefore sort by creation
// time to the millisecond, and two ids collide only if they are made in the
// same millisecond and draw the same 80 bits. Its zero value is ready to
// use and it is safe for concurrent use.
type IDGenerator struct {
	// now is the clock; nil means time.Now. Tests of this package set it.
	now func() time.Time
}

var _ ports.IDGenerator = IDGenerator{}

// NewIDGenerator returns an IDGenerator that reads the wall clock.
func NewIDGenerator() IDGenerator { return IDGenerator{} }

// NewID returns a new id with the given prefix, such as "msg". An empty
// prefix yields the 26 characters alone.
func (g IDGenerator) NewID(prefix string) string {
	now := time.Now
	if g.now != nil {
		now = g.now
	}
	var raw [16]byte
	// The timestamp fills the top 48 bits; a time before 1970 or after
	// 10889 wraps, which only costs sort order.
	binary.BigEndian.PutUint64(raw[:8], uint64(now().UnixMilli())<<16)
	// crypto/rand.Read never fails; it crashes the program if the kernel's
	// random source cannot be read, so the error needs no handling.
	_, _ = rand.Read(raw[6:])

	if prefix == "" {
		buf := make([]byte, IDLength)
		encode(buf, &raw)
		return string(buf)
	}
	buf := make([]byte, len(prefix)+1+IDLength)
	copy(buf, prefix)
	buf[len(prefix)] = '_'
	encode(buf[len(prefix)+1:], &raw)
	return string(buf)
}

// encode writes the 128 bits of raw as 26 base32 characters into dst,
// most significant first; the first character carries only 3 bits.
func encode(dst []byte, raw *[16]byte) {
	hi := binary.BigEndian.Uint64(raw[:8])
	lo := binary.BigEndian.Uint64(raw[8:])
	for i := IDLength - 1; i >= 0; i-- {
		dst[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
}

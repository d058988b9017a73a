// Package wire is the versioned envelope in which a notifier event crosses
// from one Relay instance to another (over Redis pub/sub or PostgreSQL
// NOTIFY).
//
// An envelope is a small JSON object with short keys. Version 1:
//
//	{"v":1,"o":"<origin>","k":"m","c":"dm:dm_x","id":"msg_…","s":17,
//	 "u":"u_alice","p":"p_42","b":"hi","cm":"c-123","t":"2025-01-02T03:04:05.123456Z"}
//
//	v        version; a reader rejects versions it does not know
//	o        the publishing instance, so that it can skip its own events
//	k        kind: "m" message, "r" member removed, "s" resync; on a user
//	         channel "j" member joined, "l" member left, "rd" read moved
//	c        the channel ("dm:…", "group:…", or "user:<user id>"; the
//	         user id may hold ':', so only the first ':' ends the kind)
//	id s u p b cm t
//	         a message's id, seq, sender, persona, content ("body"),
//	         client message id and creation time (RFC 3339, UTC, ns)
//	u        for "r": the member removed
//	st       when the publisher first sent the event (Unix microseconds),
//	         for the receivers' lag figure; optional
//	partial  true on a message cut down to its channel and seq because the
//	         whole one did not fit the transport (see EncodeLimited)
//	cv us rs for "j", "l" and "rd": the conversation's channel, the
//	         position in the user's log (from 1) and, for "rd" only, the
//	         new read seq, e.g.
//	         {"v":1,"o":"…","k":"rd","c":"user:u_alice","cv":"group:grp_x","us":5,"rs":17}
//
// "m" and "r" are valid on a conversation's channel only, "j", "l" and
// "rd" on a user channel only, "s" on either. On a user channel a resync
// means "re-read the user's log".
//
// A message carries everything a stream needs, so that a receiver delivers
// it without reading the store in the normal case. The store stays the
// truth: a receiver that cannot use an envelope (partial, unknown version,
// unknown kind) asks its streams to resync the channel from the store.
//
// Compatibility: "v" and "c" keep their meaning in every version, so that a
// reader can always tell which channel an envelope it does not understand
// was about. Within version 1, readers ignore keys they do not know, so keys
// may be added; any change that a version 1 reader would misread bumps "v".
// Deploy readers of a new version before writers.
//
// The user channel and its kinds were added within version 1, without a
// bump, because a reader that predates them cannot misread them: it
// rejects the envelope as malformed (an unknown kind, on a channel it
// cannot parse, so there is nothing for it to resync), counts and logs the
// rejection, and carries on. Such a reader has no subscriber of a user
// channel anyway, so it never asks a transport for one: Redis does not
// send it the envelope at all, and the PostgreSQL listener drops
// envelopes of unwatched channels before decoding them. Bumping "v"
// instead would have made every old reader reject every new envelope,
// messages included.
package wire

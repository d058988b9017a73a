package tail

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/relaymsg/relay/adapters/sseclient"
)

// The inbox's own events are membership and reading news, not messages:
// like channel_removed they go to status, so that out stays one message a
// line (or one message JSON a line) whichever stream is followed.

// conversation is the part of a conversation_added event that tail reads.
type conversation struct {
	ID      string  `json:"id"`
	Kind    string  `json:"kind"`
	Name    *string `json:"name"`
	LastSeq int64   `json:"lastSeq"`
}

// readPosition is a read event's data.
type readPosition struct {
	Channel string `json:"channel"`
	ReadSeq int64  `json:"readSeq"`
}

// inboxReady tells whose inbox is followed, how many conversations it
// holds and the cursor to resume from.
func (f *follower) inboxReady(ev sseclient.Event) error {
	var ready struct {
		Conversations int `json:"conversations"`
	}
	if err := json.Unmarshal([]byte(ev.Data), &ready); err != nil {
		return fmt.Errorf("a ready event that is not JSON: %w", err)
	}
	whose := "the inbox"
	if f.opts.User != "" {
		whose = "the inbox of " + f.opts.User
	}
	_, err := fmt.Fprintf(f.status, "tail: following %s, %d conversations (cursor %s)\n", whose, ready.Conversations, ev.ID)
	return err
}

// conversationAdded prints a conversation the user became a member of;
// its messages after lastSeq follow on the stream.
func (f *follower) conversationAdded(data string) error {
	var c conversation
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		return fmt.Errorf("a conversation_added event that is not JSON: %w", err)
	}
	var line strings.Builder
	fmt.Fprintf(&line, "tail: added to %s (%s", c.ID, c.Kind)
	if c.Name != nil {
		fmt.Fprintf(&line, " %q", *c.Name)
	}
	fmt.Fprintf(&line, ", lastSeq %d)\n", c.LastSeq)
	_, err := fmt.Fprint(f.status, line.String())
	return err
}

// read prints a read position that moved, from any of the user's devices.
func (f *follower) read(data string) error {
	var r readPosition
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return fmt.Errorf("a read event that is not JSON: %w", err)
	}
	_, err := fmt.Fprintf(f.status, "tail: %s read up to #%d\n", r.Channel, r.ReadSeq)
	return err
}

package sseclient_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/relaymsg/relay/adapters/sseclient"
)

func TestReader(t *testing.T) {
	t.Parallel()
	stream := "\nretry: 1500\n\n: ping\n\nid: 1\nevent: ready\ndata: {}\n\n" +
		"id: 2\r\ndata:a\r\ndata:  b\r\n\r\n" + "data: x\rdata: y\r\r" + "id\nevent: custom\ndata\n\n" + "data: cut"
	r := sseclient.NewReader(strings.NewReader(stream))
	want := []sseclient.Event{
		{Retry: 1500 * time.Millisecond, HasRetry: true, Raw: "retry: 1500\n\n"},
		{Comments: []string{"ping"}, Raw: ": ping\n\n"},
		{ID: "1", HasID: true, Event: "ready", Data: "{}", DataLines: 1, Raw: "id: 1\nevent: ready\ndata: {}\n\n"},
		{ID: "2", HasID: true, Event: "message", Data: "a\n b", DataLines: 2, Raw: "id: 2\r\ndata:a\r\ndata:  b\r\n\r\n"},
		{Event: "message", Data: "x\ny", DataLines: 2, Raw: "data: x\rdata: y\r\r"},
		{ID: "", HasID: true, Event: "custom", Data: "", DataLines: 1, Raw: "id\nevent: custom\ndata\n\n"},
	}
	for i, w := range want {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if got.ID != w.ID || got.HasID != w.HasID || got.Event != w.Event || got.Data != w.Data ||
			got.DataLines != w.DataLines || got.Retry != w.Retry || got.HasRetry != w.HasRetry ||
			strings.Join(got.Comments, "|") != strings.Join(w.Comments, "|") || got.Raw != w.Raw {
			t.Fatalf("block %d = %+v, want %+v", i, got, w)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a block cut short: %v, want io.ErrUnexpectedEOF", err)
	}

	r = sseclient.NewReader(strings.NewReader("retry: 10\n\n: ping\n\ndata: d\n\n"))
	if ev, err := r.NextEvent(); err != nil || ev.Data != "d" {
		t.Fatalf("NextEvent = %+v, %v; want the data block", ev, err)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("clean end: %v, want io.EOF", err)
	}
}

// TestReaderOneByteAtATime: the same blocks come out however the stream is
// cut into reads, CRLF split across two of them included.
func TestReaderOneByteAtATime(t *testing.T) {
	t.Parallel()
	stream := "id: 1\r\nevent: ready\r\ndata: {}\r\n\r\n" + "data: x\rdata: y\r\r" + "data: z\n\n"
	r := sseclient.NewReader(iotest.OneByteReader(strings.NewReader(stream)))
	for i, want := range []string{"{}", "x\ny", "z"} {
		ev, err := r.Next()
		if err != nil || ev.Data != want {
			t.Fatalf("block %d = %+v, %v; want data %q", i, ev, err, want)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("clean end: %v, want io.EOF", err)
	}
}

// TestReaderWHATWGRules: a leading BOM is skipped, an id holding NUL and a
// retry that is not all digits are ignored, and a CR-ended block is
// returned without waiting for the byte after it.
func TestReaderWHATWGRules(t *testing.T) {
	t.Parallel()
	r := sseclient.NewReader(strings.NewReader("\uFEFFid: a\x00b\nretry: -5\ndata: d\n\nretry: 1e3\n\nretry: 7\n\n"))
	ev, err := r.Next()
	if err != nil || ev.HasID || ev.HasRetry || ev.Data != "d" || ev.Event != "message" {
		t.Fatalf("first block = %+v, %v", ev, err)
	}
	if ev, err := r.Next(); err != nil || ev.HasRetry {
		t.Fatalf("retry 1e3 = %+v, %v; want ignored", ev, err)
	}
	if ev, err := r.Next(); err != nil || ev.Retry != 7*time.Millisecond {
		t.Fatalf("retry 7 = %+v, %v", ev, err)
	}

	pr, pw := io.Pipe()
	defer pr.Close()
	go func() { _, _ = io.WriteString(pw, "data: now\r\r") }() // and nothing after: the writer stays open
	if ev, err := sseclient.NewReader(pr).Next(); err != nil || ev.Data != "now" {
		t.Fatalf("CR-ended block = %+v, %v", ev, err)
	}
}

func TestReaderBoundsABlock(t *testing.T) {
	t.Parallel()
	r := sseclient.NewReader(strings.NewReader("data: " + strings.Repeat("x", sseclient.MaxBlock) + "\n\n"))
	if _, err := r.Next(); !errors.Is(err, sseclient.ErrBlockTooLong) {
		t.Fatalf("a block past MaxBlock: %v, want ErrBlockTooLong", err)
	}
}

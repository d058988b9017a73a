package ssetest_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
)

func TestReader(t *testing.T) {
	t.Parallel()
	stream := "\nretry: 1500\n\n: ping\n\nid: 1\nevent: ready\ndata: {}\n\n" +
		"id: 2\r\ndata:a\r\ndata:  b\r\n\r\n" + "data: x\rdata: y\r\r" + "id\nevent: custom\ndata\n\n" + "data: cut"
	r := ssetest.NewReader(strings.NewReader(stream))
	want := []ssetest.Event{
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

	r = ssetest.NewReader(strings.NewReader("retry: 10\n\n: ping\n\ndata: d\n\n"))
	if ev, err := r.NextEvent(); err != nil || ev.Data != "d" {
		t.Fatalf("NextEvent = %+v, %v; want the data block", ev, err)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("clean end: %v, want io.EOF", err)
	}
}

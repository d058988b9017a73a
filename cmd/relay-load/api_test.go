package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// TestLastSeqsReadsEveryPage: the run's final seqs come from every page
// of GET /api/conversations, not only the first.
func TestLastSeqsReadsEveryPage(t *testing.T) {
	t.Parallel()
	const total, perPage = 7, 3
	var pages int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages++
		start := 0
		if after := r.URL.Query().Get("after"); after != "" {
			start, _ = strconv.Atoi(after[len("cur"):])
		}
		end := min(start+perPage, total)
		if end < total {
			w.Header().Set("X-Next-Cursor", fmt.Sprintf("cur%d", end))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "[")
		for i := start; i < end; i++ {
			if i > start {
				fmt.Fprint(w, ",")
			}
			fmt.Fprintf(w, `{"id":"grp_%d","lastSeq":%d}`, i, 10*i)
		}
		fmt.Fprint(w, "]")
	}))
	t.Cleanup(srv.Close)
	a := newAPI(srv.URL, []byte("secret"), time.Minute, 1)
	t.Cleanup(a.close)

	seqs, err := a.lastSeqs(t.Context(), "token")
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != total || pages != 3 {
		t.Fatalf("lastSeqs = %v after %d requests; want %d conversations from 3 pages", seqs, pages, total)
	}
	for i := range total {
		if got := seqs[fmt.Sprintf("grp_%d", i)]; got != int64(10*i) {
			t.Fatalf("lastSeqs[grp_%d] = %d; want %d", i, got, 10*i)
		}
	}
}

package main

import (
	"os"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	// A command name with a space and a parenthesis, as /proc allows.
	stat := "4242 (relay (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 9 0 100 2000000 3000 18446744073709551615"
	got, err := parseProcStat(stat)
	if err != nil || got.user != 2500*time.Millisecond || got.kernel != 750*time.Millisecond {
		t.Fatalf("parseProcStat = %+v, %v; want user 2.5s, kernel 0.75s", got, err)
	}
	if _, err := parseProcStat("4242 (relay) S 1"); err == nil {
		t.Fatal("a short stat line was accepted")
	}
	if _, err := readProcCPU(os.Getpid()); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
}

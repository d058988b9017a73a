//go:build !unix

package main

import "time"

// processCPU returns 0: the client's CPU time is only measured on Unix.
func processCPU() time.Duration { return 0 }

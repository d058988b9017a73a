package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHz is the unit of the times in /proc/<pid>/stat: Linux reports them
// in USER_HZ, which is 100 on every architecture it runs on.
const userHz = 100

// procCPU is a process's user and kernel CPU time so far.
type procCPU struct{ user, kernel time.Duration }

// readProcCPU reads the CPU times of process pid from /proc (Linux).
func readProcCPU(pid int) (procCPU, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procCPU{}, fmt.Errorf("-server-pid: %w", err)
	}
	return parseProcStat(string(b))
}

// parseProcStat reads utime and stime (fields 14 and 15) of a
// /proc/<pid>/stat line; the command name (field 2) may hold spaces and
// parentheses, so fields are counted from its last ')'.
func parseProcStat(stat string) (procCPU, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return procCPU{}, fmt.Errorf("-server-pid: unexpected /proc stat %q", stat)
	}
	fields := strings.Fields(stat[i+1:]) // from field 3, the state
	if len(fields) < 13 {
		return procCPU{}, fmt.Errorf("-server-pid: unexpected /proc stat %q", stat)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return procCPU{}, fmt.Errorf("-server-pid: unexpected /proc stat %q", stat)
	}
	tick := time.Second / userHz
	return procCPU{user: time.Duration(utime) * tick, kernel: time.Duration(stime) * tick}, nil
}

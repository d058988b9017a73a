package system

import "time"

// NewIDGeneratorAt returns an IDGenerator whose clock is now.
func NewIDGeneratorAt(now func() time.Time) IDGenerator { return IDGenerator{now: now} }

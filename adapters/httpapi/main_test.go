package httpapi_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// stream handler, serving goroutine and subscription must be gone.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

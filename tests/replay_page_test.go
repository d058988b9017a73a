package tests

import "testing"

// TestResumeAfterMoreThanOneReplayPage resumes from a cursor at seq 0 after
// more messages than one store read returns (200): the replay must start at
// seq 1, not at the latest page.
func TestResumeAfterMoreThanOneReplayPage(t *testing.T) {
	t.Parallel()
	f := newResumeFixture(t)
	s := f.a.openStream(t, f.alice, f.channels, streamOpts{})
	cursor := s.readyID
	s.close()

	const n = 250
	f.sendBoth(t, n, "missed")
	f.wantResume(t, f.a.openStream(t, f.alice, f.channels, streamOpts{lastEventID: cursor}), 0, n)
}

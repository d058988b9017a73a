package pgnotify

// Internals the external tests (package pgnotify_test) reach through this
// file, which only the test binary compiles.
var ListenerDSN = listenerDSN

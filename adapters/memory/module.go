package memory

import (
	"go.uber.org/fx"

	"github.com/relaymsg/relay/ports"
)

// Module provides the in-process Notifier as ports.Notifier. It needs
// Options; the notifier closes when the application stops, ending every
// subscription.
var Module = fx.Module("memory",
	fx.Provide(fx.Annotate(newNotifier, fx.As(new(ports.Notifier)))),
)

func newNotifier(lc fx.Lifecycle, opts Options) *Notifier {
	n := NewNotifier(opts)
	lc.Append(fx.StopHook(n.Close))
	return n
}

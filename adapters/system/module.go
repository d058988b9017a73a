package system

import (
	"go.uber.org/fx"

	"github.com/relaymsg/relay/ports"
)

// Module provides the system clock and id generator behind their ports.
var Module = fx.Module("system",
	fx.Provide(
		fx.Annotate(NewClock, fx.As(new(ports.Clock))),
		fx.Annotate(NewIDGenerator, fx.As(new(ports.IDGenerator))),
	),
)

package application

import "github.com/relaymsg/relay/domain"

// GroupLimits bounds groups; the deployment sets it (MAX_GROUP_MEMBERS).
type GroupLimits struct {
	// MaxMembers is the most members a group may have, its creator
	// included; 0 means domain.DefaultMaxGroupMembers.
	MaxMembers int
}

func (l GroupLimits) withDefaults() GroupLimits {
	if l.MaxMembers <= 0 {
		l.MaxMembers = domain.DefaultMaxGroupMembers
	}
	return l
}

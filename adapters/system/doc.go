// Package system adapts the operating system's clock and random source to
// ports.Clock and ports.IDGenerator.
package system

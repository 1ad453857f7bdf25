package app

import (
	"context"
	"errors"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// ErrorInfo is an error as every command's --json output carries it: one
// shape, whatever failed.
type ErrorInfo struct {
	Kind      string `json:"kind"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message"`
	Remedy    string `json:"remedy,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// Describe classifies err for the admin: what kind of failure, its code,
// the message, what to do, and the Graph request-id where there is one.
func Describe(err error) ErrorInfo {
	info := ErrorInfo{Message: err.Error()}
	var (
		be  *BusyError
		le  *LocalError
		ie  *InputError
		se  *steps.SafetyError
		ce  *store.CorruptError
		cde *store.CorruptDirectoryError
		nke *store.NoKeyringError
		nae *NeedsAdminError
	)
	switch {
	case errors.As(err, &be):
		info.Kind, info.Code, info.Remedy = "busy", "Busy", be.Remedy()
	case errors.As(err, &se):
		info.Kind, info.Code, info.Remedy = "safety limit", "MassDisable",
			"Check the users listed; if the change is intended, run again with --allow-mass-disable."
	case errors.As(err, &nke):
		info.Kind, info.Code, info.Remedy = "no keyring", "NoKeyring", "Install and unlock an OS keyring, then run this again."
	case errors.As(err, &le):
		info.Kind, info.Code, info.Remedy = "local", "LocalPrecondition", le.Remedy
	case errors.As(err, &ce):
		info.Kind, info.Code, info.Remedy = "local", "CorruptConfig", "Move the file aside to start afresh, or fix it."
	case errors.As(err, &cde):
		info.Kind, info.Code, info.Remedy = "local", "CorruptDirectory",
			"Move the directory database aside (with its -wal and -shm files); the next sync rebuilds it with a full run."
	case errors.As(err, &nae):
		info.Kind, info.Code, info.Remedy = "needs admin", "NeedsAdmin", nae.Problems[0].Remedy
	case errors.As(err, &ie):
		info.Kind, info.Code = "usage", "BadInput"
	case errors.Is(err, ErrNoConnection):
		info.Kind, info.Code, info.Remedy = "not set up", "NoConnection",
			"Run `entrawiz setup` first (or give --config-dir where the connection was set up)."
	case errors.Is(err, ErrConnectionRemoved):
		info.Kind, info.Code = "conflict", "ConnectionRemoved"
	default:
		ge := graphapi.Classify(err)
		info.Kind, info.Code, info.Remedy, info.RequestID = ge.Kind.String(), ge.Code, ge.Remedy, ge.RequestID
		if errors.Is(err, context.Canceled) {
			info.Kind, info.Code, info.Remedy = graphapi.KindCanceled.String(), "canceled", ""
		}
	}
	return info
}

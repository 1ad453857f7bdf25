package app

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/entrawiz/entrawiz/store"
)

// mergeConnection brings what this run changed in a connection (mine,
// against base: the connection as this run last read or wrote it) into
// theirs, the connection as it is on disk now, which another entrawiz may
// have changed meanwhile. Only the fields this run changed are taken from
// mine; secrets are merged by key ID and step state by step, so a sync
// that ends after a rotation keeps the rotation's new secret, and a
// rotation keeps the sync's summary.
func mergeConnection(base, mine, theirs *store.Connection) store.Connection {
	out := *theirs
	if mine.Name != base.Name {
		out.Name = mine.Name
	}
	if mine.Profile != base.Profile {
		out.Profile = mine.Profile
	}
	if mine.Cloud != base.Cloud || mine.LoginURL != base.LoginURL || mine.GraphURL != base.GraphURL {
		out.Cloud, out.LoginURL, out.GraphURL = mine.Cloud, mine.LoginURL, mine.GraphURL
	}
	if mine.Tenant != base.Tenant {
		out.Tenant = mine.Tenant
	}
	if mine.App != base.App {
		out.App = mergeApp(base.App, mine.App, theirs.App)
	}
	if mine.Enabled != base.Enabled {
		out.Enabled = mine.Enabled
	}
	if !mine.Created.Equal(base.Created) {
		out.Created = mine.Created
	}
	if mine.Updated.After(out.Updated) {
		out.Updated = mine.Updated
	}
	out.Secrets = mergeSecrets(base.Secrets, mine.Secrets, theirs.Secrets)
	out.State = mergeState(base.State, mine.State, theirs.State)
	return out
}

// mergeApp takes each app field this run changed.
func mergeApp(base, mine, theirs store.App) store.App {
	out := theirs
	if mine.ObjectID != base.ObjectID {
		out.ObjectID = mine.ObjectID
	}
	if mine.AppID != base.AppID {
		out.AppID = mine.AppID
	}
	if mine.ServicePrincipalID != base.ServicePrincipalID {
		out.ServicePrincipalID = mine.ServicePrincipalID
	}
	if mine.DisplayName != base.DisplayName {
		out.DisplayName = mine.DisplayName
	}
	return out
}

// mergeSecrets applies this run's additions, changes and removals of
// secret records, by key ID, to theirs.
func mergeSecrets(base, mine, theirs []store.Secret) []store.Secret {
	// A secret entered by hand has no key ID: its keyring item names it.
	id := func(s store.Secret) string { return strings.ToLower(s.KeyID + "|" + s.KeyringName) }
	find := func(list []store.Secret, key store.Secret) int {
		for i := range list {
			if id(list[i]) == id(key) {
				return i
			}
		}
		return -1
	}
	out := append([]store.Secret(nil), theirs...)
	for _, b := range base {
		if find(mine, b) < 0 {
			if i := find(out, b); i >= 0 {
				out = append(out[:i], out[i+1:]...)
			}
		}
	}
	for _, m := range mine {
		bi := find(base, m)
		if bi >= 0 && sameJSON(base[bi], m) {
			continue // unchanged here: theirs stands
		}
		if i := find(out, m); i >= 0 {
			out[i] = m
		} else {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// mergeState takes each kind of record this run changed (the test, the
// sync summary, the picked groups, …) from mine, and every other from
// theirs.
func mergeState(base, mine, theirs store.State) store.State {
	out := theirs
	b, m, o := reflect.ValueOf(base), reflect.ValueOf(mine), reflect.ValueOf(&out).Elem()
	for i := range o.NumField() {
		if !sameJSON(b.Field(i).Interface(), m.Field(i).Interface()) {
			o.Field(i).Set(m.Field(i))
		}
	}
	return out
}

// cloneConnection is a deep copy, so a base kept for merging does not
// change when the run changes its connection.
func cloneConnection(c *store.Connection) *store.Connection {
	b, err := json.Marshal(c)
	if err != nil {
		cp := *c
		return &cp
	}
	var out store.Connection
	if json.Unmarshal(b, &out) != nil {
		cp := *c
		return &cp
	}
	return &out
}

// sameJSON compares two values as they would be saved, so that a time
// read back from the file equals the one it was written from.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

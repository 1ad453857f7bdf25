package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"sync"
)

// plannedIDs is the set of users the staged full run has planned so far,
// so that a user in several picked groups is planned once. It is kept in
// memory rather than as an index of next_users (see nextUsersTable), and
// read again from next_users whenever it may differ from what is committed:
// on the first page a handle stages, after a failed page, and after the
// stage is begun, discarded or applied.
type plannedIDs struct {
	mu  sync.Mutex
	set map[[16]byte]struct{} // nil: to be read from next_users
	// noUsers is set, with set, when the users table was empty: a first
	// full run, whose pages need not look their users up in it. Only
	// applying a run changes the users table, and applying forgets the
	// set; the sync lock keeps another process from applying meanwhile.
	noUsers bool
}

// load reads the set from next_users, in tx, unless it is in hand.
func (p *plannedIDs) load(ctx context.Context, tx *sql.Tx) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.set != nil {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM next_users`)
	if err != nil {
		return err
	}
	defer rows.Close()
	set := map[[16]byte]struct{}{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		set[idKey(id)] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var noUsers bool
	if err := tx.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM users)`).Scan(&noUsers); err != nil {
		return err
	}
	p.set, p.noUsers = set, noUsers
	return nil
}

// empty reports whether the users table was empty when the set was read.
func (p *plannedIDs) empty() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.set != nil && p.noUsers
}

func (p *plannedIDs) has(k [16]byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.set[k]
	return ok
}

// add puts the users of a committed page in the set.
func (p *plannedIDs) add(keys [][16]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.set == nil {
		return // read afresh, with these, when next needed
	}
	for _, k := range keys {
		p.set[k] = struct{}{}
	}
}

// forget drops the set, to be read again from next_users.
func (p *plannedIDs) forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.set = nil
}

// idKey is a directory object ID as 16 bytes: the GUID itself for the
// lowercase GUIDs Graph gives (a map of them takes a third of the memory of
// one of strings, which matters at a million users), else the first 16
// bytes of its SHA-256.
func idKey(id string) [16]byte {
	var k [16]byte
	if len(id) == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-' {
		var hexits [32]byte
		n := 0
		for i := 0; i < 36; i++ {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				continue
			}
			c := id[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				n = -1
				break
			}
			hexits[n] = c
			n++
		}
		if n == 32 {
			hex.Decode(k[:], hexits[:])
			return k
		}
	}
	sum := sha256.Sum256([]byte(id))
	copy(k[:], sum[:])
	return k
}

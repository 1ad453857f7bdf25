package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteMagic begins every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// checkHeader reports a file at path that is not empty and is not an
// SQLite database, without changing it.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open directory database: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	if n == 0 && errors.Is(err, io.EOF) {
		return nil
	}
	if string(head[:n]) != sqliteMagic {
		return &CorruptDirectoryError{Path: path, Err: errors.New("not an SQLite database")}
	}
	return nil
}

// CorruptDirectoryError is a directory database SQLite cannot read: a file
// that is not one, or a damaged one. It is left as it is: the synced users
// it holds may still be recovered from it.
type CorruptDirectoryError struct {
	Path string
	Err  error
}

func (e *CorruptDirectoryError) Error() string {
	name := filepath.Base(e.Path)
	return fmt.Sprintf("the directory database %s is damaged (%v); it was left untouched: move it aside, with any %s-wal and %s-shm "+
		"files beside it, and the next sync rebuilds it with a full run", e.Path, e.Err, name, name)
}

func (e *CorruptDirectoryError) Unwrap() error { return e.Err }

// checked turns an error SQLite gives for a damaged database into a
// *CorruptDirectoryError.
func (d *DirDB) checked(err error) error {
	var se *sqlite.Error
	var ce *CorruptDirectoryError
	if err == nil || errors.As(err, &ce) || !errors.As(err, &se) {
		return err
	}
	if c := se.Code() & 0xff; c == sqlite3.SQLITE_CORRUPT || c == sqlite3.SQLITE_NOTADB {
		return &CorruptDirectoryError{Path: d.path, Err: err}
	}
	return err
}

// check is checked for a method's named error, deferred.
func (d *DirDB) check(err *error) { *err = d.checked(*err) }

package graphapi

import "context"

// stream fetches pages one ahead of consume, so that the caller's work on a
// page (such as writing it to the store) overlaps the fetch of the next.
// fetch gets "" for the first page and then each next link it returned; it
// returns "" as the next link on the last page. At most two pages are held
// at a time. A consume error stops the walk and is returned as is; a fetch
// error (a cancelled context's too) is returned once the pages before it
// are consumed.
func stream[T any](ctx context.Context, fetch func(ctx context.Context, link string) (T, string, error), consume func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan T, 1)
	// fetchErr is written before pages is closed, and read after the
	// range below has seen it closed.
	var fetchErr error
	go func() {
		defer close(pages)
		link := ""
		for {
			page, next, err := fetch(ctx, link)
			if err != nil {
				fetchErr = err
				return
			}
			select {
			case pages <- page:
			case <-ctx.Done():
				fetchErr = ctx.Err()
				return
			}
			if next == "" {
				return
			}
			link = next
		}
	}()
	for page := range pages {
		if err := consume(page); err != nil {
			return err
		}
	}
	return fetchErr
}

// streamDecoded is stream with a decoding stage of its own: fetch returns
// a raw page and its next link, and the next page is fetched while decode
// turns the raw page into T and consume works on the page before it.
func streamDecoded[R, T any](ctx context.Context, fetch func(ctx context.Context, link string) (R, string, error), decode func(R) (T, error), consume func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan T, 1)
	var walkErr error // as fetchErr in stream
	go func() {
		defer close(pages)
		walkErr = stream(ctx, fetch, func(raw R) error {
			page, err := decode(raw)
			if err != nil {
				return err
			}
			select {
			case pages <- page:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	for page := range pages {
		if err := consume(page); err != nil {
			return err
		}
	}
	return walkErr
}

package cli

import "github.com/scalemalnet/scalemalnet/orchestrator/store"

func storeQuery() store.ListQuery { return store.ListQuery{Limit: 1} }

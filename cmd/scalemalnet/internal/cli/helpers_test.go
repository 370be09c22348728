package cli

import "github.com/scalemalnet/scalemalnet/orchestrator/api"

func storeQuery() api.ListQuery { return api.ListQuery{Limit: 1} }

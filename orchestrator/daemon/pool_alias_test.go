package daemon

import (
	"github.com/scalemalnet/scalemalnet/orchestrator/analysis"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool"
)

// The slot states, as the tests of the whole daemon read them.
const (
	SlotIdle        = pool.SlotIdle
	SlotBusy        = pool.SlotBusy
	SlotRestoring   = pool.SlotRestoring
	SlotPreparing   = pool.SlotPreparing
	SlotBroken      = pool.SlotBroken
	SlotDraining    = pool.SlotDraining
	SlotQuarantined = pool.SlotQuarantined
	SlotRemoved     = pool.SlotRemoved
)

// The lifecycle's step names, as the tests read them.
const (
	StepRestore    = analysis.StepRestore
	StepWaitAgent  = analysis.StepWaitAgent
	StepSetTime    = analysis.StepSetTime
	StepPushSample = analysis.StepPushSample
	StepRun        = analysis.StepRun
	StepCollect    = analysis.StepCollect
	StepDestroy    = analysis.StepDestroy
	StepFeaturize  = analysis.StepFeaturize
	StepClassify   = analysis.StepClassify
	StepFuse       = analysis.StepFuse
	StepReport     = analysis.StepReport
)

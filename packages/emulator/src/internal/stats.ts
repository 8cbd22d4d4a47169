import * as Faults from "../Faults.js"

/** What an emulator has seen, as `Emulator.Stats` reports it. */
export interface Stats {
  readonly requests: Record<Faults.Route, number>
  readonly statusRequestsAfterTerminal: number
  readonly jobsStarted: number
  readonly faultsInjected: number
  readonly jobsHeld: number
  readonly compressedResponses: number
}

/** The counts as they are kept: everything in `Stats` but what the job store knows. */
export type Counts = { -readonly [K in Exclude<keyof Stats, "jobsHeld" | "requests">]: number } & {
  readonly requests: Record<Faults.Route, number>
}

export const makeCounts = (): Counts => ({
  requests: Object.fromEntries(Faults.routes.map((r) => [r, 0])) as Record<Faults.Route, number>,
  statusRequestsAfterTerminal: 0,
  jobsStarted: 0,
  faultsInjected: 0,
  compressedResponses: 0
})

export const snapshot = (counts: Counts, jobsHeld: number): Stats => ({
  requests: { ...counts.requests },
  statusRequestsAfterTerminal: counts.statusRequestsAfterTerminal,
  jobsStarted: counts.jobsStarted,
  faultsInjected: counts.faultsInjected,
  jobsHeld,
  compressedResponses: counts.compressedResponses
})

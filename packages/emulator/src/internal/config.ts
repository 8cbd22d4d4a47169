import type * as Faults from "../Faults.js"

/** Whether bodies are compressed, and then with the compressed `Content-Length` or chunked. */
export type Compress = "off" | "length" | "chunked"

/** The emulator's settings, resolved and checked from `Emulator.Options`. */
export interface Config {
  readonly apiKeys: ReadonlySet<string>
  readonly quota: number
  readonly jobDurationMillis: number
  readonly pollingIntervalMillis: number
  readonly admin: boolean
  readonly log: boolean
  readonly faults: Faults.FaultPlans
  readonly seed: number
  readonly compress: Compress
  /** How long an ended job is kept. */
  readonly jobTtlMillis: number
}

/** The longest search accepted, as the client caps it (`QoeryClient.maxSearchLength`). */
export const maxSearchLength = 2_000

/** The largest request body read: larger ones get 413. */
export const maxBodyBytes = 1024 * 1024

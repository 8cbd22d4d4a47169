/**
 * The status fixture of the tests: a job's status as the service sends it
 * (by default the spec's own `processing` example), changed where a test
 * says, and the same decoded.
 */
import { JobStatus } from "@effect-qoery/client"
import { Schema } from "effect"

/** The job id of the spec's examples. */
export const jobId = "20251110_151628"

/** The wire `progress` object. */
export interface WireProgress {
  readonly current_step: string
  readonly rows_collected: number
  readonly urls_processed: number
  readonly urls_total: number
  readonly last_updated: string
}

/** What a test may change: any top-level field, and any field of `progress`. */
export type WireChanges = { readonly [key: string]: unknown } & { readonly progress?: Partial<WireProgress> }

/** A status on the wire. */
export interface WireStatus {
  readonly job_id: string
  readonly status: string
  readonly query: string
  readonly progress: WireProgress
  readonly urls: ReadonlyArray<string>
  readonly csv_url: string
  readonly error: string | null
  readonly started_at: string
  readonly completed_at: string | null
  readonly [key: string]: unknown
}

/** A status on the wire: the spec's `processing` example with `changes`; `job_id` also moves `csv_url`. */
export const wireStatus = (changes: WireChanges = {}): WireStatus => {
  const { progress, ...rest } = changes
  const id = typeof rest.job_id === "string" ? rest.job_id : jobId
  return {
    job_id: id,
    status: "processing",
    query: "climate change statistics",
    progress: {
      current_step: "scraping",
      rows_collected: 1250,
      urls_processed: 8,
      urls_total: 15,
      last_updated: "2025-11-10T15:16:45Z",
      ...progress
    },
    urls: ["https://example.com/data1", "https://example.com/data2"],
    csv_url: `/v0/datasets/${id}/csv`,
    error: null,
    started_at: "2025-11-10T15:16:28Z",
    completed_at: null,
    ...rest
  } as WireStatus
}

/** The same status decoded, as the client gives it. */
export const decodedStatus = (changes: WireChanges = {}): JobStatus.JobStatus =>
  Schema.decodeUnknownSync(JobStatus.JobStatus)(wireStatus(changes))

import * as JobStatus from "@effect-qoery/client/JobStatus"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import { type Job, stateAt } from "./jobs.js"

// The bodies about one job, encoded with the client's schemas so the wire formats match.

const encodeStatus = Schema.encodeSync(JobStatus.JobStatus)
const encodeStarted = Schema.encodeSync(JobStatus.JobStarted)

/** The answer to a start. */
export const startedBody = (id: string, pollingIntervalMillis: number) =>
  encodeStarted(
    new JobStatus.JobStarted({
      jobId: id as JobStatus.JobStarted["jobId"],
      pollingInterval: Duration.millis(pollingIntervalMillis)
    }, true)
  )

/** The status body of a job: the spec's field order, and `error`/`completed_at` as `null` where they do not apply. */
export const statusBody = (job: Job, now: number, durationMillis: number, id: string = job.id) => {
  const state = stateAt(job, now, durationMillis)
  const progress = new JobStatus.JobProgress({
    currentStep: state.step,
    rowsCollected: state.rowsCollected,
    urlsProcessed: state.urlsProcessed,
    urlsTotal: state.urlsTotal,
    lastUpdated: DateTime.unsafeMake(state.lastUpdated)
  }, true)
  const common = {
    jobId: id as JobStatus.Processing["jobId"],
    query: job.query,
    progress,
    urls: job.outline.urls.slice(0, state.urlsTotal),
    csvUrl: `/v0/datasets/${id}/csv`,
    startedAt: DateTime.unsafeMake(job.startedAt)
  }
  const status = state.status === "processing"
    ? new JobStatus.Processing(common, true)
    : state.status === "completed"
    ? new JobStatus.Completed({ ...common, completedAt: DateTime.unsafeMake(state.endedAt!) }, true)
    : new JobStatus.Failed({ ...common, error: state.error!, completedAt: DateTime.unsafeMake(state.endedAt!) }, true)
  const encoded = encodeStatus(status) as Record<string, unknown>
  return {
    state,
    body: {
      job_id: encoded.job_id,
      status: encoded.status,
      query: encoded.query,
      progress: encoded.progress,
      urls: encoded.urls,
      csv_url: encoded.csv_url,
      error: encoded.error ?? null,
      started_at: encoded.started_at,
      completed_at: encoded.completed_at ?? null
    }
  }
}

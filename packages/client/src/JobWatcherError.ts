/**
 * The errors of `JobWatcher`, in a module of their own that imports no
 * watcher code (as `@effect/platform` has `HttpClientError.ts`): the watcher's
 * implementation and its public module both import them, never each other.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as JobStatus from "./JobStatus.js"
import type * as QoeryError from "./QoeryError.js"

/**
 * The watch took longer than its `timeout` (or its `schedule` ended) before
 * the job ended. Carries the last status seen, if any, and, when the polls
 * since then failed and were being retried, the last of those errors.
 *
 * @since 0.1.0
 * @category errors
 */
export class WatchTimeout extends Schema.TaggedError<WatchTimeout>()("WatchTimeout", {
  jobId: Schema.String,
  elapsed: Schema.DurationFromSelf,
  lastStatus: Schema.optional(JobStatus.JobStatus),
  /** The message of the last failed poll, when the polls after the last status (if any) all failed. */
  lastError: Schema.optional(Schema.String)
}) {
  override get message() {
    const last = this.lastStatus === undefined
      ? "no status was received"
      : `last status: ${this.lastStatus.status}, step ${this.lastStatus.progress.currentStep}`
    const failing = this.lastError === undefined ? "" : `; the polls since failed, the last with: ${this.lastError}`
    return `Gave up waiting for job ${this.jobId} after ${Duration.format(this.elapsed)} (${last}${failing})`
  }
}

/**
 * The job ended in error (`awaitCompletion`). Carries the `Failed` status,
 * whose rows can still be downloaded.
 *
 * @since 0.1.0
 * @category errors
 */
export class JobFailed extends Schema.TaggedError<JobFailed>()("JobFailed", {
  status: JobStatus.Failed
}) {
  override get message() {
    return `Job ${this.status.jobId} failed: ${this.status.error}`
  }
}

/**
 * Why a watch fails: an API error (retries spent, or a permanent one), a bad
 * option (`InvalidInput`), or a timeout.
 *
 * @since 0.1.0
 * @category errors
 */
export type WatchError = QoeryError.QoeryError | WatchTimeout

/**
 * A job of `watchAll` that failed, as a value, with `failFast: false`.
 *
 * @since 0.1.0
 * @category models
 */
export class WatchAllFailure extends Data.TaggedClass("WatchAllFailure")<{
  readonly jobId: string
  readonly error: WatchError
}> {}

/**
 * Whether an element of `watchAll` is a failed job rather than a status.
 *
 * @since 0.1.0
 * @category guards
 */
export const isWatchAllFailure = (u: unknown): u is WatchAllFailure => Predicate.isTagged(u, "WatchAllFailure")

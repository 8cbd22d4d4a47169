/**
 * How a durable dataset workflow ends when it does not end with a stored
 * CSV: the job ended in error, or the API refused for good. Every error is a
 * schema, so the engine can store it and give it back after a restart.
 *
 * @since 0.1.0
 */
import * as JobStatus from "@effect-qoery/client/JobStatus"
import * as QoeryError from "@effect-qoery/client/QoeryError"
import * as DateTime from "effect/DateTime"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * The job ended in `error`. Carries the search and the `Failed` status, whose
 * rows can still be downloaded.
 *
 * @since 0.1.0
 * @category errors
 */
export class JobFailed extends Schema.TaggedError<JobFailed>()("JobFailed", {
  search: Schema.String,
  status: JobStatus.Failed
}) {
  override get message() {
    return `Job ${this.status.jobId} (${JSON.stringify(this.search)}) failed: ${this.status.error}`
  }
}

/**
 * The API key was refused (HTTP 401).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  search: Schema.String,
  error: Schema.String
}) {
  override get message() {
    return `Unauthorized: ${this.error}. Set QOERY_API_KEY to a valid key.`
  }
}

/**
 * The quota of the key is spent; `resetDate` says when it comes back, when
 * the API said so.
 *
 * @since 0.1.0
 * @category errors
 */
export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()("QuotaExceeded", {
  search: Schema.String,
  error: Schema.String,
  resetDate: Schema.optional(Schema.DateTimeUtc)
}) {
  override get message() {
    const reset = this.resetDate === undefined ? "" : `; it resets on ${DateTime.formatIso(this.resetDate)}`
    return `Quota exceeded: ${this.error}${reset}`
  }
}

/**
 * The job the workflow follows is not known to the API (another base URL, or
 * the job expired).
 *
 * @since 0.1.0
 * @category errors
 */
export class JobNotFound extends Schema.TaggedError<JobNotFound>()("JobNotFound", {
  search: Schema.String,
  jobId: Schema.String
}) {
  override get message() {
    return `Job ${this.jobId} (${JSON.stringify(this.search)}) is not known to the API`
  }
}

/**
 * Any other failure that retries did not cure: a request the API rejects
 * (`BadRequest`, `InvalidInput`), transient failures past their retry budget,
 * a watch that ran out of time, a CSV the store could not keep. `reason` is
 * the tag of the underlying error.
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestFailed extends Schema.TaggedError<RequestFailed>()("RequestFailed", {
  search: Schema.String,
  jobId: Schema.optional(Schema.String),
  reason: Schema.String,
  description: Schema.String
}) {
  override get message() {
    return `${this.reason}: ${this.description}`
  }
}

/**
 * Every way a dataset workflow fails.
 *
 * @since 0.1.0
 * @category errors
 */
export const DatasetError = Schema.Union(JobFailed, Unauthorized, QuotaExceeded, JobNotFound, RequestFailed)

/**
 * @since 0.1.0
 * @category errors
 */
export type DatasetError = typeof DatasetError.Type

const tags = new Set(["JobFailed", "Unauthorized", "QuotaExceeded", "JobNotFound", "RequestFailed"])

/**
 * Whether a value is a `DatasetError`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isDatasetError = (u: unknown): u is DatasetError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag)

/**
 * Whether the failure is the API's (a refused key, a spent quota, an unknown
 * job, a request that failed for good) rather than the job's own.
 *
 * @since 0.1.0
 * @category guards
 */
export const isApiError = (error: DatasetError): boolean => error._tag !== "JobFailed"

/**
 * The workflow error for a client error of the job of `search`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromQoeryError = (search: string, error: QoeryError.QoeryError, jobId?: string): DatasetError => {
  switch (error._tag) {
    case "Unauthorized":
      return new Unauthorized({ search, error: error.error })
    case "QuotaExceeded":
      return new QuotaExceeded({
        search,
        error: error.error,
        ...(error.resetDate === undefined ? {} : { resetDate: error.resetDate })
      })
    case "JobNotFound":
      return new JobNotFound({ search, jobId: error.jobId })
    default:
      return new RequestFailed({
        search,
        reason: error._tag,
        description: error.message,
        ...(jobId === undefined ? {} : { jobId })
      })
  }
}

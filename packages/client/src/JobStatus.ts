/**
 * The status of a dataset job, as `GET /v0/datasets/{job_id}` reports it, and
 * the answer to starting one.
 *
 * @since 0.1.0
 */
import type * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import type * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as FastStatus from "./internal/fastStatus.js"
import * as TimestampInternal from "./internal/timestamp.js"
import { is as isJobId, JobId } from "./JobId.js"

/**
 * The five steps the spec lists, in the order the service runs them. The
 * emulator sends only these.
 *
 * @since 0.1.0
 * @category models
 */
export const KnownStep = Schema.Literal("initializing", "searching", "scraping", "processing", "finalizing")

/**
 * @since 0.1.0
 * @category models
 */
export type KnownStep = typeof KnownStep.Type

/**
 * The step a job is at, as the service names it: one of the five `KnownStep`s,
 * or a step this client does not know yet. The spec types `current_step` as a
 * plain string and lists the five in its description only, so a service that
 * adds a step (`"uploading"`) is still within the spec: such a status decodes,
 * with the step as it came, and a watch goes on.
 *
 * The known steps are still typed (`string & {}` keeps them in completions
 * and in `case` labels); a `switch` on a step needs a `default` for the ones
 * the client does not know: show them as they are.
 *
 * @example
 * ```ts
 * import { JobStatus } from "@effect-qoery/client"
 *
 * const label = (step: JobStatus.Step): string => {
 *   switch (step) {
 *     case "initializing":
 *     case "searching":
 *       return "getting ready"
 *     case "scraping":
 *     case "processing":
 *     case "finalizing":
 *       return "collecting"
 *     default:
 *       return step // a step added on the service's side, as it is
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Step = KnownStep | (string & {})

/**
 * The schema of `current_step`: any string, decoded to a `Step`. Use
 * `KnownStep` to require one of the five.
 *
 * @since 0.1.0
 * @category models
 */
export const Step: Schema.Schema<Step, string> = Schema.String

/**
 * The known steps in the order the service runs them.
 *
 * @since 0.1.0
 * @category models
 */
export const steps: ReadonlyArray<KnownStep> = KnownStep.literals

const knownSteps: ReadonlySet<string> = new Set(KnownStep.literals)

/**
 * Whether a step is one of the five the spec lists: narrows it for a `switch`
 * with no `default`, checked exhaustively.
 *
 * @since 0.1.0
 * @category guards
 */
export const isKnownStep = (step: Step): step is KnownStep => knownSteps.has(step)

/**
 * The spec's `format: date-time` as a `DateTime.Utc`: RFC 3339 in, the wire
 * form out (`2025-11-10T15:16:45Z`, milliseconds only when there are some).
 * The one encoder of timestamps: the emulator writes its statuses with it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Timestamp: Schema.Schema<DateTime.Utc, string> = TimestampInternal.Timestamp

/**
 * The wire form of an instant (epoch milliseconds or a `DateTime`), as
 * `Timestamp` encodes it.
 *
 * @since 0.1.0
 * @category encoding
 */
export const formatTimestamp = (instant: number | DateTime.DateTime): string =>
  TimestampInternal.format(typeof instant === "number" ? instant : instant.epochMillis)

const Count = Schema.NonNegativeInt

/**
 * How far a job has come, as the service says. The counters and the step
 * usually only move forward, but nothing here promises it: a status whose
 * counters shrink or whose step goes back (a retry on the service's side, a
 * replica behind a load balancer) is decoded and emitted as it comes. Show
 * the latest; do not compute with differences between statuses.
 *
 * @since 0.1.0
 * @category models
 */
export class JobProgress extends Schema.Class<JobProgress>("JobProgress")({
  currentStep: Schema.propertySignature(Step).pipe(Schema.fromKey("current_step")),
  rowsCollected: Schema.propertySignature(Count).pipe(Schema.fromKey("rows_collected")),
  urlsProcessed: Schema.propertySignature(Count).pipe(Schema.fromKey("urls_processed")),
  urlsTotal: Schema.propertySignature(Count).pipe(Schema.fromKey("urls_total")),
  lastUpdated: Schema.propertySignature(TimestampInternal.Timestamp).pipe(Schema.fromKey("last_updated"))
}) {}

const common = {
  jobId: Schema.propertySignature(JobId).pipe(Schema.fromKey("job_id")),
  query: Schema.String,
  progress: JobProgress,
  urls: Schema.Array(Schema.String),
  csvUrl: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("csv_url")),
  startedAt: Schema.propertySignature(TimestampInternal.Timestamp).pipe(Schema.fromKey("started_at"))
}

const defaultError = "The job failed (the service gave no message)"

const endedAt = Schema.optionalWith(TimestampInternal.Timestamp, { exact: true, nullable: true }).pipe(
  Schema.fromKey("completed_at")
)

/**
 * A job that is still running. It carries neither an error nor an end time.
 *
 * @since 0.1.0
 * @category models
 */
export class Processing extends Schema.Class<Processing>("Processing")({
  status: Schema.tag("processing"),
  ...common
}) {}

/**
 * A job that ended with its CSV ready.
 *
 * @since 0.1.0
 * @category models
 */
export class Completed extends Schema.Class<Completed>("Completed")({
  status: Schema.tag("completed"),
  ...common,
  completedAt: endedAt
}) {}

/**
 * A job that ended in error. The rows collected before the error can still be
 * downloaded.
 *
 * @since 0.1.0
 * @category models
 */
export class Failed extends Schema.Class<Failed>("Failed")({
  status: Schema.tag("error"),
  ...common,
  error: Schema.optionalWith(Schema.String, { nullable: true, default: () => defaultError }),
  completedAt: endedAt
}) {}

/**
 * The status of a job: `Processing`, `Completed` or `Failed`, discriminated by
 * `status` (`"processing" | "completed" | "error"`).
 *
 * @since 0.1.0
 * @category models
 */
export const JobStatus = Schema.Union(Processing, Completed, Failed).annotations({ identifier: "JobStatus" })

/**
 * @since 0.1.0
 * @category models
 */
export type JobStatus = Processing | Completed | Failed

/**
 * A status the job will not leave: `Completed` or `Failed`.
 *
 * @since 0.1.0
 * @category models
 */
export type Terminal = Completed | Failed

/**
 * Whether the job has ended (`completed` or `error`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isTerminal = (status: JobStatus): status is Terminal => status.status !== "processing"

/**
 * Handles each state of a job.
 *
 * @example
 * ```ts
 * import { JobStatus } from "@effect-qoery/client"
 * declare const status: JobStatus.JobStatus
 * const line = JobStatus.match(status, {
 *   onProcessing: (s) => `${s.progress.currentStep}...`,
 *   onCompleted: (s) => `done: ${s.progress.rowsCollected} rows`,
 *   onFailed: (s) => `failed: ${s.error}`
 * })
 * ```
 *
 * @since 0.1.0
 * @category pattern matching
 */
export const match: {
  <A, B = A, C = A>(cases: {
    readonly onProcessing: (status: Processing) => A
    readonly onCompleted: (status: Completed) => B
    readonly onFailed: (status: Failed) => C
  }): (self: JobStatus) => A | B | C
  <A, B = A, C = A>(self: JobStatus, cases: {
    readonly onProcessing: (status: Processing) => A
    readonly onCompleted: (status: Completed) => B
    readonly onFailed: (status: Failed) => C
  }): A | B | C
} = dual(2, (self: JobStatus, cases: {
  readonly onProcessing: (status: Processing) => unknown
  readonly onCompleted: (status: Completed) => unknown
  readonly onFailed: (status: Failed) => unknown
}) => {
  switch (self.status) {
    case "processing":
      return cases.onProcessing(self)
    case "completed":
      return cases.onCompleted(self)
    case "error":
      return cases.onFailed(self)
  }
})

/**
 * Whether two statuses say the same (status, step, counters, urls, last update):
 * what the watcher uses to emit only changes.
 *
 * @since 0.1.0
 * @category equivalence
 */
export const equivalence = (a: JobStatus, b: JobStatus): boolean => {
  const p = a.progress
  const q = b.progress
  if (
    a.status !== b.status || a.jobId !== b.jobId || p.currentStep !== q.currentStep ||
    p.rowsCollected !== q.rowsCollected || p.urlsProcessed !== q.urlsProcessed || p.urlsTotal !== q.urlsTotal ||
    p.lastUpdated.epochMillis !== q.lastUpdated.epochMillis || a.urls.length !== b.urls.length
  ) return false
  // A loop, not `every`: the watcher calls this on every poll.
  for (let i = 0; i < a.urls.length; i++) if (a.urls[i] !== b.urls[i]) return false
  return true
}

/**
 * The time a job has run: up to its end when it ended, else up to `now`.
 *
 * @since 0.1.0
 * @category getters
 */
export const elapsed = (status: JobStatus, now: DateTime.Utc): Duration.Duration => {
  const end = status.status !== "processing" && status.completedAt !== undefined
    ? status.completedAt.epochMillis
    : now.epochMillis
  return Duration.millis(Math.max(0, end - status.startedAt.epochMillis))
}

/**
 * The answer to starting a job: its id and the polling interval the service
 * suggests. The interval is advisory: `decodeStarted` leaves out one that is
 * not a whole number of milliseconds, 0 or more, rather than lose the job.
 *
 * @since 0.1.0
 * @category models
 */
export class JobStarted extends Schema.Class<JobStarted>("JobStarted")({
  jobId: Schema.propertySignature(JobId).pipe(Schema.fromKey("job_id")),
  status: Schema.tag("processing"),
  pollingInterval: Schema.optionalWith(Schema.NonNegativeInt.pipe(Schema.compose(Schema.DurationFromMillis)), {
    exact: true
  }).pipe(Schema.fromKey("polling_interval_ms"))
}) {}

const decodeStartedSchema = Schema.decodeUnknownEither(JobStarted, { errors: "all" })

/**
 * Decodes a start answer from its wire JSON value. The job was started on
 * the server whatever else the answer says, so an invalid
 * `polling_interval_ms` (1500.5, -1, null) is left out, as if the service
 * had suggested none; the error of any other invalid field is the schema's.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeStarted = (input: unknown): Either.Either<JobStarted, ParseResult.ParseError> => {
  const decoded = decodeStartedSchema(input)
  if (Either.isRight(decoded) || !Predicate.isRecord(input) || !("polling_interval_ms" in input)) return decoded
  const { polling_interval_ms: _, ...withoutHint } = input
  const lenient = decodeStartedSchema(withoutHint)
  return Either.isRight(lenient) ? lenient : decoded
}

/**
 * The id of the job a start answer names, when it is a valid one, however
 * broken the rest: for an error that says which job was started.
 *
 * @since 0.1.0
 * @category decoding
 */
export const startedJobId = (input: unknown): JobId | undefined =>
  Predicate.isRecord(input) && isJobId(input.job_id) ? input.job_id : undefined

const decodeSchema = Schema.decodeUnknownEither(JobStatus, { errors: "all" })

/**
 * The fast path of `decodeUnknown`: a status when the input is a valid one,
 * else `undefined`. Exported for the differential test against the schema.
 *
 * @internal
 */
export const decodeFast: (input: unknown) => JobStatus | undefined = FastStatus.make({
  JobProgress,
  Processing,
  Completed,
  Failed
})

/**
 * Decodes a status from its wire JSON value, with full validation. A
 * hand-written fast path does the work when the input is valid (about four
 * times faster, see BENCHMARKS.md); the schema runs when it is not, and gives
 * the error with its path.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknown = (input: unknown): Either.Either<JobStatus, ParseResult.ParseError> => {
  const fast = decodeFast(input)
  return fast === undefined ? decodeSchema(input) : Either.right(fast)
}

/**
 * Decodes the JSON text of a status (what `GET /v0/datasets/{job_id}` sends),
 * throwing a `ParseError` or a `SyntaxError` when it is not one.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeJson = (text: string): JobStatus => {
  const result = decodeUnknown(JSON.parse(text))
  if (result._tag === "Right") return result.right
  throw result.left
}

/**
 * A dataset job as a durable workflow: started once, followed to its end,
 * its CSV stored, on whatever `WorkflowEngine` is provided (in memory, SQLite
 * or Postgres, see `DatasetEngine`).
 *
 * @since 0.1.0
 */
import * as JobStatus from "@effect-qoery/client/JobStatus"
import * as JobWatcher from "@effect-qoery/client/JobWatcher"
import * as QoeryClient from "@effect-qoery/client/QoeryClient"
import type * as QoeryError from "@effect-qoery/client/QoeryError"
import * as Activity from "@effect/workflow/Activity"
import * as Workflow from "@effect/workflow/Workflow"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as CsvStore from "./CsvStore.js"
import * as DatasetError from "./DatasetError.js"

/**
 * What a finished workflow gives: the search, the completed status and where
 * its CSV was stored.
 *
 * @since 0.1.0
 * @category models
 */
export class StoredDataset extends Schema.Class<StoredDataset>("StoredDataset")({
  search: Schema.String,
  status: JobStatus.Completed,
  csv: CsvStore.StoredCsv
}) {}

/**
 * The workflow of one dataset job. Its payload is the search and an optional
 * idempotency key (default: the search itself): two executions with the same
 * key are one workflow, so its job is started once.
 *
 * @example
 * ```ts
 * import { DatasetWorkflow } from "@effect-qoery/workflow"
 *
 * // Runs the job of this search to its end (or gives the stored result).
 * const dataset = DatasetWorkflow.DatasetWorkflow.execute({ search: "climate change statistics" })
 * ```
 *
 * @since 0.1.0
 * @category workflows
 */
export const DatasetWorkflow = Workflow.make({
  name: "QoeryDataset",
  payload: {
    search: Schema.String,
    key: Schema.optional(Schema.String)
  },
  idempotencyKey: (payload) => payload.key ?? payload.search,
  success: StoredDataset,
  error: DatasetError.DatasetError
})

/**
 * The payload of a `DatasetWorkflow`.
 *
 * @since 0.1.0
 * @category models
 */
export type Payload = Workflow.Workflow.Payload<typeof DatasetWorkflow>

/**
 * What the workflow tells as it goes (to show progress or keep a ledger). It
 * may be told twice after a restart, so handle it as an upsert.
 *
 * @since 0.1.0
 * @category models
 */
export type Event =
  | { readonly _tag: "Started"; readonly executionId: string; readonly search: string; readonly jobId: string }
  | {
    readonly _tag: "Stored"
    readonly executionId: string
    readonly search: string
    readonly dataset: StoredDataset
  }
  | {
    readonly _tag: "Failed"
    readonly executionId: string
    readonly search: string
    readonly error: DatasetError.DatasetError
  }

/**
 * How the workflows of this process do their work.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How each job is watched (the watcher's retry policy included). The default timeout is 6 hours. */
  readonly watch?: JobWatcher.WatchOptions | undefined
  /** How many workflows run at once in this process. Default 16. */
  readonly concurrency?: number | undefined
  /** Told when a job is started, stored or failed. */
  readonly onEvent?: ((event: Event) => Effect.Effect<void>) | undefined
}

const isTransient = (error: QoeryError.QoeryError) =>
  error._tag === "RateLimited" || error._tag === "ServerError" ||
  (error._tag === "TransportError" && error.reason !== "Timeout")

/**
 * Retries of a start that the API refused in a transient way. A start that
 * timed out is not retried: the job may exist, and the API has no idempotency
 * key to ask.
 */
const startRetry = {
  schedule: Schedule.exponential("500 millis", 2).pipe(
    Schedule.either(Schedule.spaced("30 seconds")),
    Schedule.jittered
  ),
  times: 8,
  while: isTransient
}

/** A watch whose own retries ran out is started again from the job id (watching is safe to repeat). */
const watchRetry = {
  schedule: Schedule.exponential("2 seconds", 2).pipe(Schedule.either(Schedule.spaced("1 minute")), Schedule.jittered),
  times: 10,
  while: (error: QoeryError.QoeryError | JobWatcher.WatchTimeout | JobWatcher.JobFailed) =>
    error._tag !== "JobFailed" && error._tag !== "WatchTimeout" && isTransient(error)
}

/**
 * The implementation of `DatasetWorkflow` on the `QoeryClient` and the
 * `CsvStore` of the layer, in three activities whose results the engine
 * persists: `start` (so a job is started once per key), `await` (the watcher,
 * polling inside the activity: no engine write per poll) and `store`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<never, never, WorkflowEngine.WorkflowEngine | QoeryClient.QoeryClient | CsvStore.CsvStore> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const client = yield* QoeryClient.QoeryClient
    const store = yield* CsvStore.CsvStore
    const semaphore = yield* Effect.makeSemaphore(Math.max(1, options.concurrency ?? 16))
    const onEvent = options.onEvent ?? (() => Effect.void)
    const watchOptions: JobWatcher.WatchOptions = { timeout: "6 hours", ...options.watch }

    return DatasetWorkflow.toLayer(({ search }, executionId) =>
      Effect.gen(function*() {
        const started = yield* Activity.make({
          name: "start",
          success: JobStatus.JobStarted,
          error: DatasetError.DatasetError,
          execute: client.startJob(search).pipe(
            Effect.retry(startRetry),
            Effect.mapError((error) => DatasetError.fromQoeryError(search, error))
          )
        })
        const jobId = started.jobId
        yield* onEvent({ _tag: "Started", executionId, search, jobId })

        const status = yield* Activity.make({
          name: "await",
          success: JobStatus.Completed,
          error: DatasetError.DatasetError,
          execute: JobWatcher.awaitCompletion(jobId, {
            pollingInterval: started.pollingInterval,
            ...watchOptions
          }).pipe(
            Effect.retry(watchRetry),
            Effect.mapError((error): DatasetError.DatasetError =>
              error._tag === "JobFailed"
                ? new DatasetError.JobFailed({ search, status: error.status })
                : error._tag === "WatchTimeout"
                ? new DatasetError.RequestFailed({ search, jobId, reason: error._tag, description: error.message })
                : DatasetError.fromQoeryError(search, error, jobId)
            ),
            Effect.provideService(QoeryClient.QoeryClient, client)
          )
        })

        const csv = yield* Activity.make({
          name: "store",
          success: CsvStore.StoredCsv,
          error: DatasetError.DatasetError,
          execute: store.store({ search, jobId }).pipe(
            Effect.mapError((error) =>
              new DatasetError.RequestFailed({ search, jobId, reason: error._tag, description: error.message })
            )
          )
        })
        const dataset = new StoredDataset({ search, status, csv })
        yield* onEvent({ _tag: "Stored", executionId, search, dataset })
        return dataset
      }).pipe(
        Effect.tapError((error) => onEvent({ _tag: "Failed", executionId, search, error })),
        semaphore.withPermits(1)
      )
    )
  }))

/**
 * Submits the workflow of `search` and returns its execution id at once,
 * without waiting for it. Submitting the same key again is a no-op.
 *
 * @since 0.1.0
 * @category combinators
 */
export const submit = (
  payload: { readonly search: string; readonly key?: string | undefined }
): Effect.Effect<string, never, WorkflowEngine.WorkflowEngine> =>
  DatasetWorkflow.execute(payloadOf(payload), { discard: true })

/**
 * The execution id of the workflow of a payload.
 *
 * @since 0.1.0
 * @category combinators
 */
export const executionId = (
  payload: { readonly search: string; readonly key?: string | undefined }
): Effect.Effect<string> => DatasetWorkflow.executionId(payloadOf(payload))

const payloadOf = (payload: { readonly search: string; readonly key?: string | undefined }) =>
  payload.key === undefined ? { search: payload.search } : { search: payload.search, key: payload.key }

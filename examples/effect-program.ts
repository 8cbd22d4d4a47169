/**
 * Compose the client in an Effect program: start a job, watch it on your own
 * schedule, handle each error tag, then read the first typed rows.
 *
 *   npx tsx --conditions=source examples/effect-program.ts "renewable energy share"
 *
 * Runs against an emulator on a free local port, or against the real service
 * when QOERY_API_KEY is set (and QOERY_BASE_URL, optionally).
 */
import { DatasetCsv, JobWatcher, QoeryClient } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Console, DateTime, Effect, Layer, Schedule, Stream } from "effect"

const search = process.argv[2] ?? "renewable energy share"

// Poll every 500 ms for the first 10 polls, then back off to every 2 seconds.
const schedule = Schedule.spaced("500 millis").pipe(
  Schedule.upTo("5 seconds"),
  Schedule.andThen(Schedule.spaced("2 seconds"))
)

const program = Effect.gen(function*() {
  const client = yield* QoeryClient.QoeryClient
  const started = yield* client.startJob(search)
  yield* Console.log(`started job ${started.jobId}`)

  const last = yield* JobWatcher.watch(started.jobId, { schedule, timeout: "10 minutes" }).pipe(
    Stream.tap((s) => Console.log(`  ${s.status} ${s.progress.currentStep} ${s.progress.rowsCollected} rows`)),
    Stream.runLast
  )
  if (last._tag === "Some" && last.value.status === "error") yield* Console.log(`the job failed: ${last.value.error}`)

  const rows = yield* DatasetCsv.rows(started.jobId).pipe(Stream.take(3), Stream.runCollect)
  for (const row of rows) yield* Console.log(`  ${row.title} | ${row.dimension} | ${row.value}`)
}).pipe(
  // Each failure a caller handles differently has its own tag.
  Effect.catchTags({
    Unauthorized: (e) => Console.error(`bad key: ${e.error}. Set QOERY_API_KEY.`),
    QuotaExceeded: (e) => Console.error(`quota spent until ${e.resetDate ? DateTime.formatIso(e.resetDate) : "?"}`),
    RateLimited: (e) => Console.error(`rate limited, retry after ${e.retryAfter}`),
    BadRequest: (e) => Console.error(`rejected: ${e.error}`),
    InvalidInput: (e) => Console.error(`invalid ${e.field}: ${e.description}`),
    JobNotFound: (e) => Console.error(`no job ${e.jobId}`),
    CsvNotReady: (e) => Console.error(`job ${e.jobId} has no rows yet`),
    ServerError: (e) => Console.error(`server error ${e.status}`),
    TransportError: (e) => Console.error(`network: ${e.reason}: ${e.description}`),
    ResponseError: (e) => Console.error(`unexpected response: ${e.description}`),
    WatchTimeout: (e) => Console.error(`gave up on job ${e.jobId} after ${e.elapsed}`),
    CsvError: (e) => Console.error(`malformed CSV: ${e.message}`)
  }),
  Effect.tapErrorCause(Effect.logError)
)

// The real service when QOERY_API_KEY is set, else an emulator on a free local port.
const Client: Layer.Layer<QoeryClient.QoeryClient, unknown, HttpClient.HttpClient> = process.env.QOERY_API_KEY
  ? QoeryClient.layerConfig
  : Layer.unwrapEffect(
    Effect.map(
      Emulator.Emulator,
      (emulator) => QoeryClient.layer({ apiKey: Emulator.demoApiKey, baseUrl: emulator.baseUrl })
    )
  ).pipe(
    Layer.provide(Emulator.layer({ jobDuration: "3 seconds" }))
  )

program.pipe(
  Effect.provide(Client.pipe(Layer.provide(NodeHttpClient.layerUndici))),
  NodeRuntime.runMain
)

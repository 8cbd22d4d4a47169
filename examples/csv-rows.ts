/**
 * Starts a dataset job, prints the first rows of its CSV while it still runs
 * (the partial CSV), then the total number of rows once it is done.
 *
 *   pnpm tsx --conditions=source examples/csv-rows.ts "climate change statistics"
 *
 * Runs against an embedded emulator, or against the real service when
 * QOERY_API_KEY is set (and QOERY_BASE_URL, optionally).
 */
import { DatasetCsv, JobWatcher, QoeryClient } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Console, Effect, Layer, Stream } from "effect"

const search = process.argv[2] ?? "climate change statistics"
const firstRows = 5

const show = (row: DatasetCsv.CsvRow) =>
  `  ${JSON.stringify(row.title)}: ${row.value} (${row.dimension}${row.timestamp ? `, ${row.timestamp}` : ""})`

const program = Effect.gen(function*() {
  const client = yield* QoeryClient.QoeryClient
  const { jobId } = yield* client.startJob(search)
  yield* Console.log(`started job ${jobId} for "${search}"`)

  // The partial CSV: wait for the first rows, print a few while the job runs.
  yield* Console.log(`first rows, while the job runs:`)
  yield* DatasetCsv.rows(jobId, { waitForRows: true }).pipe(
    Stream.take(firstRows),
    Stream.runForEach((row) => Console.log(show(row)))
  )
  const running = yield* client.getStatus(jobId)
  yield* Console.log(`(the job is ${running.status}, ${running.progress.rowsCollected} rows so far)`)

  // The final CSV, streamed and counted in constant memory.
  const done = yield* JobWatcher.awaitCompletion(jobId)
  const total = yield* Stream.runCount(DatasetCsv.rows(jobId))
  yield* Console.log(`completed: ${total} rows in the CSV (the job reports ${done.progress.rowsCollected})`)
})

// The real service when QOERY_API_KEY is set, else an emulator on a free local port.
const Client: Layer.Layer<QoeryClient.QoeryClient, unknown, HttpClient.HttpClient> = process.env.QOERY_API_KEY
  ? QoeryClient.layerConfig
  : Layer.unwrapEffect(Effect.gen(function*() {
    const emulator = yield* Emulator.Emulator
    yield* Console.log(`QOERY_API_KEY is not set: using an emulator at ${emulator.baseUrl}`)
    return QoeryClient.layer({ apiKey: Emulator.demoApiKey, baseUrl: emulator.baseUrl })
  })).pipe(Layer.provide(Emulator.layer({ jobDuration: "5 seconds", pollingInterval: "500 millis" })))

program.pipe(
  Effect.provide(Client.pipe(Layer.provide(NodeHttpClient.layerUndici))),
  NodeRuntime.runMain
)

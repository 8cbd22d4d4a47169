/**
 * Starts a dataset job and streams its statuses to the console until it ends.
 *
 *   pnpm tsx --conditions=source examples/watch-job.ts "climate change statistics"
 *
 * Runs against an embedded emulator, or against the real service when
 * QOERY_API_KEY is set (and QOERY_BASE_URL, optionally).
 */
import { JobStatus, JobWatcher, QoeryClient } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Console, Duration, Effect, Layer, Stream } from "effect"

const search = process.argv[2] ?? "climate change statistics"

const describe = JobStatus.match({
  onProcessing: ({ progress }) =>
    `${progress.currentStep}: ${progress.urlsProcessed}/${progress.urlsTotal} urls, ${progress.rowsCollected} rows`,
  onCompleted: ({ csvUrl, progress }) => `completed: ${progress.rowsCollected} rows, CSV at ${csvUrl}`,
  onFailed: ({ error }) => `failed: ${error}`
})

const program = JobWatcher.run(search, {
  onStarted: (started) => Console.log(`started job ${started.jobId} for "${search}"`),
  onRetry: ({ attempt, delay, error }) => Console.log(`  ${error._tag}, retry ${attempt} in ${Duration.format(delay)}`)
}).pipe(
  Stream.runForEach((status) => Console.log(describe(status)))
)

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

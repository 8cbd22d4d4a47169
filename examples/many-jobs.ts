/**
 * Many jobs at once: start several, watch them all with `watchAll` (bounded
 * concurrency, one merged stream), and print a summary table.
 *
 *   npx tsx --conditions=source examples/many-jobs.ts
 *
 * Runs against an emulator on a free local port, or against the real service
 * when QOERY_API_KEY is set.
 */
import { JobStatus, JobWatcher, QoeryClient } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Console, DateTime, Duration, Effect, Layer, Stream } from "effect"

const searches = ["coffee prices", "global population", "wind capacity", "this one will fail"]

const program = Effect.gen(function*() {
  const client = yield* QoeryClient.QoeryClient
  const started = yield* Effect.forEach(searches, (search) => client.startJob(search), { concurrency: 4 })
  yield* Console.log(`started ${started.length} jobs`)

  const last = new Map<string, JobStatus.JobStatus>()
  yield* JobWatcher.watchAll(started.map((s) => s.jobId), { concurrency: 4, failFast: false }).pipe(
    Stream.runForEach((item) =>
      Effect.sync(() => {
        if (!JobWatcher.isWatchAllFailure(item)) last.set(item.jobId, item)
        else console.error(`job ${item.jobId}: ${item.error.message}`)
      })
    )
  )

  const now = yield* DateTime.now
  console.table(started.map(({ jobId }) => {
    const status = last.get(jobId)
    return {
      job: jobId,
      search: status?.query ?? "?",
      status: status?.status ?? "unknown",
      rows: status?.progress.rowsCollected ?? 0,
      urls: status ? `${status.progress.urlsProcessed}/${status.progress.urlsTotal}` : "",
      seconds: status ? Math.round(Duration.toSeconds(JobStatus.elapsed(status, now))) : 0
    }
  }))
})

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

/**
 * Point your own tests at the emulator with a scripted fault: here, the code
 * under test waits for a job, and the emulator answers its first two polls
 * with 503 and drops the third connection. The watcher retries; the test
 * checks the outcome and what the emulator saw.
 *
 *   npx tsx --conditions=source examples/emulator-fault.ts
 *
 * Always runs against a local emulator (faults cannot be scripted on the real
 * service), whether QOERY_API_KEY is set or not.
 */
import { JobWatcher, QoeryClient } from "@effect-qoery/client"
import { Emulator, Faults } from "@effect-qoery/emulator"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer } from "effect"
import * as assert from "node:assert/strict"

// The code under test: start a job and wait for its rows.
const rowsOf = (search: string) =>
  Effect.gen(function*() {
    const client = yield* QoeryClient.QoeryClient
    const { jobId } = yield* client.startJob(search)
    const completed = yield* JobWatcher.awaitCompletion(jobId, {
      interval: "100 millis",
      onRetry: ({ attempt, error }) => Console.log(`  retry ${attempt} after ${error._tag}`)
    })
    return completed.progress.rowsCollected
  })

// The test: an emulator on a free port with the fault script, and a client pointed at it.
const test = Effect.gen(function*() {
  const emulator = yield* Emulator.Emulator
  yield* emulator.setFaults(
    "status",
    {
      _tag: "Script",
      faults: [{ kind: "status", status: 503 }, { kind: "status", status: 503 }, { kind: "drop" }]
    } satisfies Faults.FaultPlan
  )

  const rows = yield* rowsOf("fault tolerance").pipe(
    Effect.provide(
      QoeryClient.layer({ apiKey: Emulator.demoApiKey, baseUrl: emulator.baseUrl }).pipe(
        Layer.provide(NodeHttpClient.layerUndici)
      )
    )
  )

  const stats = yield* emulator.stats
  assert.ok(rows > 0, "the job completed with rows despite the faults")
  assert.equal(stats.faultsInjected, 3, "each scripted fault was served")
  assert.equal(stats.statusRequestsAfterTerminal, 0, "no poll after the job ended")
  yield* Console.log(`ok: ${rows} rows through ${stats.faultsInjected} faults, ${stats.requests.status} polls`)
})

test.pipe(
  Effect.provide(Emulator.layer({ jobDuration: "1 second" })),
  NodeRuntime.runMain
)

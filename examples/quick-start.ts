/**
 * The README's first Effect program: run a job and print each status.
 *
 *   npx tsx --conditions=source examples/quick-start.ts
 */
import { JobWatcher, QoeryClient } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import type { HttpClient } from "@effect/platform"
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Stream } from "effect"

const program = JobWatcher.run("climate change statistics").pipe(
  Stream.runForEach((s) => Console.log(`${s.status}: ${s.progress.currentStep}, ${s.progress.rowsCollected} rows`))
)

// QOERY_API_KEY (and optionally QOERY_BASE_URL) from the environment...
const Real = QoeryClient.layerConfig
// ...or, without a key, the emulator on a free local port.
const Local = Layer.unwrapEffect(
  Effect.map(Emulator.Emulator, (e) => QoeryClient.layer({ apiKey: Emulator.demoApiKey, baseUrl: e.baseUrl }))
).pipe(Layer.provide(Emulator.layer({ jobDuration: "3 seconds" })))

const Client: Layer.Layer<QoeryClient.QoeryClient, unknown, HttpClient.HttpClient> = process.env.QOERY_API_KEY
  ? Real
  : Local
const QoeryLive = Layer.provide(Client, NodeHttpClient.layerUndici)

program.pipe(Effect.provide(QoeryLive), NodeRuntime.runMain)

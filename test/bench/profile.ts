/**
 * One transport's poll loop alone, to be profiled:
 *
 *   pnpm build
 *   node --cpu-prof --cpu-prof-dir=prof --import tsx test/bench/profile.ts undici 5000
 *   node --import tsx test/bench/profileSummary.ts prof/<file>.cpuprofile 5000
 *
 * Without `--conditions=source` the packages load as built (`dist`), as
 * users get them: tsx compiles with esbuild's `keepNames`, which wraps every
 * named closure in a `__name` call and made the client's own code cost about
 * half as much again per poll.
 *
 * The transport is `floor` (node:http keep-alive + JSON.parse), `undici`
 * (the client's own undici HttpClient), `platform-undici`
 * (`NodeHttpClient.layerUndici`), `lean-fetch` (the client's own fetch
 * HttpClient) or `fetch` (`@effect/platform`'s `FetchHttpClient`).
 */
import { JobWatcher, QoeryClient } from "@effect-qoery/client"
import * as LeanFetchHttpClient from "@effect-qoery/client/FetchHttpClient"
import * as UndiciHttpClient from "@effect-qoery/client/UndiciHttpClient"
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Schedule, Stream } from "effect"
import { apiKey, startEmulator } from "./emulatorProcess.js"
import { floorPoller } from "./floor.js"

const transport = process.argv[2] ?? "undici"
const polls = Number(process.argv[3] ?? 5000)
const transports: Record<string, Layer.Layer<HttpClient.HttpClient>> = {
  undici: UndiciHttpClient.layer,
  "platform-undici": NodeHttpClient.layerUndici,
  "lean-fetch": LeanFetchHttpClient.layer,
  fetch: FetchHttpClient.layer
}

const emulator = await startEmulator({ jobDuration: "2h" })
try {
  const layer = (t: Layer.Layer<HttpClient.HttpClient>) =>
    QoeryClient.layer({ apiKey, baseUrl: emulator.baseUrl }).pipe(Layer.provide(t))
  const jobId = await Effect.runPromise(
    Effect.flatMap(QoeryClient.QoeryClient, (c) => c.startJob("profile poll")).pipe(
      Effect.provide(layer(FetchHttpClient.layer))
    )
  ).then((s) => s.jobId)
  const before = process.cpuUsage()
  if (transport === "floor") {
    const floor = floorPoller(`${emulator.baseUrl}/v0/datasets/${jobId}`)
    for (let i = 0; i < polls; i++) await floor.poll()
    floor.close()
  } else {
    await Effect.runPromise(
      JobWatcher.watch(jobId, { schedule: Schedule.forever, emit: "every" }).pipe(
        Stream.take(polls),
        Stream.runDrain,
        Effect.provide(layer(transports[transport]!))
      )
    )
  }
  const used = process.cpuUsage(before)
  process.stderr.write(`${transport}: ${((used.user + used.system) / polls).toFixed(0)} us of CPU a poll\n`)
} finally {
  await emulator.stop()
}

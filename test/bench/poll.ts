/**
 * Poll cost: client CPU per completed poll of JobWatcher.watch, beside a
 * hand-written node:http keep-alive loop with JSON.parse (the floor in Node)
 * and a bare fetch + JSON.parse loop, against the same emulator in another
 * process, rounds alternating.
 */
import { JobWatcher, QoeryClient } from "@effect-qoery/client"
import * as LeanFetchHttpClient from "@effect-qoery/client/FetchHttpClient"
import * as UndiciHttpClient from "@effect-qoery/client/UndiciHttpClient"
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Schedule, Stream } from "effect"
import { apiKey, startEmulator } from "./emulatorProcess.js"
import { floorPoller } from "./floor.js"
import { median } from "./stats.js"

export interface PollResult {
  readonly polls: number
  readonly floorUs: number
  readonly undiciUs: number
  readonly fetchUs: number
  readonly platformFetchUs: number
  readonly bareFetchUs: number
  readonly platformUndiciUs: number
  readonly pollCpuRatio: number
  /** Over the client's own `FetchHttpClient` (the Promise API's path when it is given a `fetch`). */
  readonly pollCpuRatioFetch: number
  /** The same watch over `@effect/platform`'s `FetchHttpClient` (reference). */
  readonly pollCpuRatioPlatformFetch: number
  /** `fetch` + `JSON.parse` alone, no client (reference: what any fetch-based client starts from). */
  readonly bareFetchRatio: number
  /** The same watch over `@effect/platform-node`'s `NodeHttpClient.layerUndici` (reference). */
  readonly pollCpuRatioPlatformUndici: number
}

const cpuPerPoll = async (polls: number, f: () => Promise<unknown>) => {
  const before = process.cpuUsage()
  await f()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / polls
}

export const runPollBench = async ({ quick }: { readonly quick: boolean }): Promise<PollResult> => {
  const polls = quick ? 300 : 2_000
  const rounds = quick ? 1 : 9
  const emulator = await startEmulator({ jobDuration: "2h" })
  try {
    const layer = (transport: Layer.Layer<HttpClient.HttpClient>) =>
      QoeryClient.layer({ apiKey, baseUrl: emulator.baseUrl }).pipe(Layer.provide(transport))
    const jobId = await Effect.runPromise(
      Effect.flatMap(QoeryClient.QoeryClient, (c) => c.startJob("bench poll cost")).pipe(
        Effect.provide(layer(NodeHttpClient.layerUndici))
      )
    ).then((s) => s.jobId)

    const url = `${emulator.baseUrl}/v0/datasets/${jobId}`
    const floorPoll = floorPoller(url)
    const floor = async () => {
      for (let i = 0; i < polls; i++) await floorPoll.poll()
    }
    const bareFetch = async () => {
      for (let i = 0; i < polls; i++) {
        const response = await globalThis.fetch(url, { headers: { "x-api-key": apiKey, accept: "application/json" } })
        JSON.parse(await response.text())
      }
    }
    // `emit: "every"` and a zero delay: every poll is a request, a decode and an element.
    const watcher = (transport: Layer.Layer<HttpClient.HttpClient>) => () =>
      Effect.runPromise(
        JobWatcher.watch(jobId, { schedule: Schedule.forever, emit: "every" }).pipe(
          Stream.take(polls),
          Stream.runDrain,
          Effect.provide(layer(transport))
        )
      )
    const undici = watcher(UndiciHttpClient.layer)
    const fetch = watcher(LeanFetchHttpClient.layer)
    const platformFetch = watcher(FetchHttpClient.layer)
    const platformUndici = watcher(NodeHttpClient.layerUndici)

    const runs = [floor, undici, fetch, platformFetch, platformUndici, bareFetch]
    for (const run of runs) await run()
    const [f, u, fe, pf, pu, bf] = runs.map(() => [] as Array<number>) as [
      Array<number>,
      Array<number>,
      Array<number>,
      Array<number>,
      Array<number>,
      Array<number>
    ]
    for (let r = 0; r < rounds; r++) {
      f.push(await cpuPerPoll(polls, floor))
      u.push(await cpuPerPoll(polls, undici))
      fe.push(await cpuPerPoll(polls, fetch))
      pf.push(await cpuPerPoll(polls, platformFetch))
      pu.push(await cpuPerPoll(polls, platformUndici))
      bf.push(await cpuPerPoll(polls, bareFetch))
    }
    floorPoll.close()
    const floorUs = median(f)
    // ratios per round, then the median: each round's three runs saw the same machine
    return {
      polls,
      floorUs,
      undiciUs: median(u),
      fetchUs: median(fe),
      platformFetchUs: median(pf),
      bareFetchUs: median(bf),
      platformUndiciUs: median(pu),
      pollCpuRatio: median(u.map((x, i) => x / f[i]!)),
      pollCpuRatioFetch: median(fe.map((x, i) => x / f[i]!)),
      pollCpuRatioPlatformFetch: median(pf.map((x, i) => x / f[i]!)),
      bareFetchRatio: median(bf.map((x, i) => x / f[i]!)),
      pollCpuRatioPlatformUndici: median(pu.map((x, i) => x / f[i]!))
    }
  } finally {
    await emulator.stop()
  }
}

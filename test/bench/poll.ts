/**
 * Poll cost: client CPU per completed poll of JobWatcher.watch, beside a
 * hand-written node:http keep-alive loop with JSON.parse (the floor in Node)
 * and a bare fetch + JSON.parse loop, against the same emulator in another
 * process, rounds alternating.
 *
 * Two references say what a watch over fetch cannot go below, with no client
 * at all: an Effect `Stream` of bare fetch polls, and the same stream with
 * what every poll of the watch guarantees written out by hand (a span, a
 * timer for the timeout, an `AbortController` that interruption aborts, no
 * redirect followed, the status validated).
 */
import { JobStatus, JobWatcher, QoeryClient } from "@effect-qoery/client"
import * as LeanFetchHttpClient from "@effect-qoery/client/FetchHttpClient"
import * as UndiciHttpClient from "@effect-qoery/client/UndiciHttpClient"
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Either, Layer, Schedule, Stream } from "effect"
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
  readonly streamFetchUs: number
  readonly guardedStreamFetchUs: number
  /** An Effect `Stream` of bare fetch polls, taken and drained as the watch is (reference). */
  readonly streamFetchRatio: number
  /** That stream with each poll's guarantees written by hand, no client (reference: a watch over fetch's least). */
  readonly guardedStreamFetchRatio: number
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
    const headers = { "x-api-key": apiKey, accept: "application/json" }
    const clock = await Effect.runPromise(Effect.clock)
    const fetchPoll = Effect.async<unknown, Error>((resume) => {
      globalThis.fetch(url, { headers }).then((response) => response.text()).then(
        (text) => resume(Effect.succeed(JSON.parse(text))),
        (cause) => resume(Effect.fail(cause))
      )
    })
    const guardedPoll = Effect.flatMap(
      Effect.makeSpan("poll", { attributes: { "qoery.job_id": jobId }, captureStackTrace: false }),
      (span) =>
        Effect.onExit(
          Effect.async<JobStatus.JobStatus, unknown>((resume) => {
            const controller = new AbortController()
            let done = false
            const finish = (result: Effect.Effect<JobStatus.JobStatus, unknown>) => {
              if (done) return
              done = true
              clearTimeout(timer)
              resume(result)
            }
            const timer = setTimeout(() => {
              controller.abort()
              finish(Effect.fail(new Error("timeout")))
            }, 30_000)
            globalThis.fetch(url, { headers, redirect: "manual", signal: controller.signal }).then((response) => {
              if (response.status !== 200) throw new Error(`status ${response.status}`)
              return response.text()
            }).then((text) => {
              const status = JobStatus.decodeUnknown(JSON.parse(text))
              finish(Either.isRight(status) ? Effect.succeed(status.right) : Effect.fail(status.left))
            }, (cause) => finish(Effect.fail(cause)))
            return Effect.sync(() => {
              if (done) return
              done = true
              clearTimeout(timer)
              controller.abort()
            })
          }),
          (exit) => Effect.sync(() => span.end(clock.unsafeCurrentTimeNanos(), exit))
        )
    )
    const stream = (poll: Effect.Effect<unknown, unknown>) => () =>
      Effect.runPromise(Stream.repeatEffect(poll).pipe(Stream.take(polls), Stream.runDrain))
    const streamFetch = stream(fetchPoll)
    const guardedStreamFetch = stream(guardedPoll)
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

    const runs = { floor, undici, fetch, platformFetch, platformUndici, bareFetch, streamFetch, guardedStreamFetch }
    const names = Object.keys(runs) as Array<keyof typeof runs>
    for (const name of names) await runs[name]()
    const samples = Object.fromEntries(names.map((name) => [name, [] as Array<number>])) as Record<
      keyof typeof runs,
      Array<number>
    >
    for (let r = 0; r < rounds; r++) {
      for (const name of names) samples[name].push(await cpuPerPoll(polls, runs[name]))
    }
    floorPoll.close()
    const us = (name: keyof typeof runs) => median(samples[name])
    // ratios per round, then the median: each round's runs saw the same machine
    const ratio = (name: keyof typeof runs) => median(samples[name].map((x, i) => x / samples.floor[i]!))
    return {
      polls,
      floorUs: us("floor"),
      undiciUs: us("undici"),
      fetchUs: us("fetch"),
      platformFetchUs: us("platformFetch"),
      bareFetchUs: us("bareFetch"),
      platformUndiciUs: us("platformUndici"),
      streamFetchUs: us("streamFetch"),
      guardedStreamFetchUs: us("guardedStreamFetch"),
      pollCpuRatio: ratio("undici"),
      pollCpuRatioFetch: ratio("fetch"),
      pollCpuRatioPlatformFetch: ratio("platformFetch"),
      bareFetchRatio: ratio("bareFetch"),
      pollCpuRatioPlatformUndici: ratio("platformUndici"),
      streamFetchRatio: ratio("streamFetch"),
      guardedStreamFetchRatio: ratio("guardedStreamFetch")
    }
  } finally {
    await emulator.stop()
  }
}

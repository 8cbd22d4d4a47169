/**
 * Scale and latency: many jobs followed at once by this process with
 * watchAll, against the emulator in another process.
 */
import { JobStatus, JobWatcher, QoeryClient } from "@effect-qoery/client"
import * as UndiciHttpClient from "@effect-qoery/client/UndiciHttpClient"
import { Duration, Effect, Fiber, Layer, Stream, Tracer } from "effect"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import { apiKey, startEmulator } from "./emulatorProcess.js"
import { percentile } from "./stats.js"

export interface ScaleResult {
  readonly jobs: number
  readonly intervalMs: number
  readonly allTerminal: boolean
  readonly terminalTwice: number
  readonly heapPerJobKB: number
  /** How long the two full GCs of the heap reading held the loop (measured in a run of its own). */
  readonly heapReadingMs: number
  readonly loopDelayP99Ms: number
  readonly requestsPerJob: number
  readonly minimumRequestsPerJob: number
  readonly extraRequestsPerJob: number
  readonly requestsAfterTerminal: number
  readonly latencyP99Ms: number
  readonly latencyP99OverIntervalMs: number
  /** Per poll, first polls and retries included: when its span started minus when the schedule said it was due. */
  readonly pollLatenessP99Ms: number
  readonly pollsTimed: number
}

/**
 * A tracer that notes, for every `JobWatcher.poll` span, its start minus the
 * time the watcher's schedule said the poll was due (the span's `qoery.due`:
 * the end of the last response plus the interval, a backoff's end, or a first
 * poll's place in the spread).
 */
const pollTimer = () => {
  const lateness: Array<number> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const attributes = new Map<string, unknown>()
      const due = options?.attributes?.["qoery.due"]
      if (name === "JobWatcher.poll" && typeof due === "number") lateness.push(Number(startTime / 1_000_000n) - due)
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: "poll",
        traceId: "scale",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links,
        sampled: true,
        kind,
        end: () => {},
        attribute: (key, value) => void attributes.set(key, value),
        event: () => {},
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })
  return { tracer, lateness }
}

const gc = () => (globalThis as { gc?: () => void }).gc?.()
const heapUsed = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

/**
 * Heap per followed job, in a run of its own: the reading takes two full GCs
 * (`heapReadingMs`), which would stall the timed run's loop and make its
 * polls late. After the timed run, `jobs` fresh jobs are followed for
 * two intervals, then the heap is read and the watch interrupted.
 */
const heapPerJob = (
  client: QoeryClient.QoeryClient["Type"],
  jobs: number,
  intervalMs: number
): Effect.Effect<{ readonly kb: number; readonly readingMs: number }, unknown, QoeryClient.QoeryClient> =>
  Effect.gen(function*() {
    const ids = yield* startJobs(client, jobs, "bench heap")
    const baseline = heapUsed()
    const fiber = yield* JobWatcher.watchAll(ids, { concurrency: jobs, interval: Duration.millis(intervalMs) }).pipe(
      Stream.runDrain,
      Effect.fork
    )
    yield* Effect.sleep(Duration.millis(intervalMs * 2))
    const start = performance.now()
    const during = heapUsed()
    const readingMs = performance.now() - start
    yield* Fiber.interrupt(fiber)
    return { kb: (during - baseline) / jobs / 1024, readingMs }
  })

const startJobs = (client: QoeryClient.QoeryClient["Type"], jobs: number, prefix: string) =>
  Effect.forEach(
    Array.from({ length: jobs }, (_, i) => `${prefix} ${i}`),
    (search) => Effect.map(client.startJob(search), (s) => s.jobId),
    { concurrency: 64 }
  )

export const runScaleBench = async ({ quick }: { readonly quick: boolean }): Promise<ScaleResult> => {
  const jobs = quick ? 300 : 10_000
  const intervalMs = quick ? 1_000 : 5_000
  const jobDurationMs = quick ? 3_000 : 30_000
  const emulator = await startEmulator({ jobDuration: `${jobDurationMs}ms`, pollingInterval: `${intervalMs}ms` })
  try {
    const layer = QoeryClient.layer({ apiKey, baseUrl: emulator.baseUrl }).pipe(
      Layer.provide(UndiciHttpClient.layer)
    )
    const timer = pollTimer()
    return await Effect.runPromise(
      Effect.gen(function*() {
        const client = yield* QoeryClient.QoeryClient
        const ids = yield* startJobs(client, jobs, "bench scale")
        const before = yield* Effect.promise(() => emulator.stats())
        const delay = monitorEventLoopDelay({ resolution: 10 })
        delay.enable()
        const firstSeen = new Map<string, number>()
        const terminal = new Map<string, number>()
        const latencies: Array<number> = []
        const minimum: Array<number> = []
        yield* JobWatcher.watchAll(ids, { concurrency: jobs, interval: Duration.millis(intervalMs) }).pipe(
          Stream.runForEach((item) =>
            Effect.sync(() => {
              if (JobWatcher.isWatchAllFailure(item)) return
              const now = Date.now()
              if (!firstSeen.has(item.jobId)) firstSeen.set(item.jobId, now)
              if (!JobStatus.isTerminal(item)) return
              terminal.set(item.jobId, (terminal.get(item.jobId) ?? 0) + 1)
              const ended = item.completedAt!.epochMillis
              latencies.push(now - ended)
              // the fewest polls that see the end: the first one, then one an interval until the end
              minimum.push(1 + Math.max(0, Math.ceil((ended - firstSeen.get(item.jobId)!) / intervalMs)))
            })
          ),
          Effect.withTracer(timer.tracer)
        )
        delay.disable()
        const after = yield* Effect.promise(() => emulator.stats())
        const heap = yield* heapPerJob(client, jobs, intervalMs)
        const requests = after.requests.status! - before.requests.status!
        const requestsPerJob = requests / jobs
        const minimumRequestsPerJob = minimum.reduce((a, b) => a + b, 0) / Math.max(1, minimum.length)
        const latencyP99Ms = percentile(latencies, 99)
        return {
          jobs,
          intervalMs,
          allTerminal: terminal.size === jobs,
          terminalTwice: [...terminal.values()].filter((n) => n > 1).length,
          heapPerJobKB: heap.kb,
          heapReadingMs: heap.readingMs,
          loopDelayP99Ms: delay.percentile(99) / 1e6,
          requestsPerJob,
          minimumRequestsPerJob,
          extraRequestsPerJob: requestsPerJob - minimumRequestsPerJob,
          requestsAfterTerminal: after.statusRequestsAfterTerminal - before.statusRequestsAfterTerminal,
          latencyP99Ms,
          latencyP99OverIntervalMs: latencyP99Ms - intervalMs,
          pollLatenessP99Ms: percentile(timer.lateness, 99),
          pollsTimed: timer.lateness.length
        }
      }).pipe(Effect.provide(layer))
    )
  } finally {
    await emulator.stop()
  }
}

/**
 * Helpers of the reliability tests (fault matrix, bad input, the API key):
 * emulators per test case, clients on them, a loopback server that counts
 * what reaches it, the `qoery` command run in this process with its output
 * captured, and recorders of logs and spans.
 */
import { JobStatus, QoeryClient } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { assert } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, List, Logger, LogLevel, ManagedRuntime, Tracer } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { type InProcessResult, runInProcess, stateDir } from "./cli.js"

// ---------------------------------------------------------------------------
// Emulators and clients

/** An emulator served for one test case; `dispose` stops it. */
export interface Served {
  readonly emulator: Emulator.Service
  readonly dispose: () => Promise<void>
}

/** Serves an emulator on a free loopback port, outside any Effect scope (for tables of cases). */
export const serve = async (options: Emulator.Options = {}): Promise<Served> => {
  const runtime = ManagedRuntime.make(Emulator.layer({ port: 0, quota: 10_000_000, ...options }))
  const emulator = await runtime.runPromise(Emulator.Emulator)
  return { emulator, dispose: () => runtime.dispose() }
}

/** The client for a base URL, over undici unless told otherwise. */
export const clientLayer = (
  options: QoeryClient.Options,
  httpClient: Layer.Layer<HttpClient.HttpClient> = NodeHttpClient.layerUndici
) => QoeryClient.layer(options).pipe(Layer.provide(httpClient))

/**
 * Whether the client asked for a job's status after it had heard that job's
 * terminal status: checked on the client's side, whatever a fault did to the
 * response on the way.
 */
export const afterTerminal = () => {
  const ended = new Set<string>()
  const polled: Array<string> = []
  return {
    /** The jobs polled after their terminal status, in order. */
    polled,
    request: (jobId: string) => {
      if (ended.has(jobId)) polled.push(jobId)
    },
    answered: (status: JobStatus.JobStatus) => {
      if (JobStatus.isTerminal(status)) ended.add(status.jobId)
    }
  }
}

/** `clientLayer`, its `getStatus` telling `recorder` of each request and each status heard. */
export const recordingClientLayer = (
  options: QoeryClient.Options,
  recorder: Pick<ReturnType<typeof afterTerminal>, "request" | "answered">,
  httpClient?: Layer.Layer<HttpClient.HttpClient>
) =>
  Layer.effect(
    QoeryClient.QoeryClient,
    Effect.map(QoeryClient.QoeryClient, (client) => ({
      ...client,
      getStatus: (jobId: string) =>
        Effect.suspend(() => {
          recorder.request(jobId)
          return Effect.tap(client.getStatus(jobId), (status) => recorder.answered(status))
        })
    }))
  ).pipe(Layer.provide(clientLayer(options, httpClient)))

// ---------------------------------------------------------------------------
// Statuses

/**
 * The statuses one job's watch emitted are right: all of that job, processing
 * until the one terminal status at the end, progress never going back, no
 * status emitted twice in a row.
 */
export const assertJobStatuses = (
  statuses: ReadonlyArray<JobStatus.JobStatus>,
  jobId: string,
  terminal: "completed" | "error" = "completed"
) => {
  assert.isAbove(statuses.length, 0, `no status of job ${jobId}`)
  for (const s of statuses) assert.strictEqual(s.jobId, jobId, "a status of another job")
  assert.strictEqual(statuses.at(-1)!.status, terminal, `job ${jobId} did not end ${terminal}`)
  assert.isTrue(statuses.slice(0, -1).every((s) => s.status === "processing"), "a terminal status before the end")
  const rows = statuses.map((s) => s.progress.rowsCollected)
  assert.deepStrictEqual(rows, [...rows].sort((a, b) => a - b), "progress went back")
  for (let i = 1; i < statuses.length; i++) {
    assert.notDeepEqual(statuses[i], statuses[i - 1], "the same status emitted twice in a row")
  }
}

// ---------------------------------------------------------------------------
// A loopback server that records every request

export interface Recorded {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
}

export interface RecordingServer {
  readonly baseUrl: string
  readonly requests: Array<Recorded>
  readonly close: () => Promise<void>
}

/** A loopback server that records each request and answers with `handler` (default 404). */
export const recordingServer = async (
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => {
    res.writeHead(404, { "content-type": "application/json" }).end("{\"error\":\"Not found\",\"status\":404}")
  }
): Promise<RecordingServer> => {
  const requests: Array<Recorded> = []
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers })
    req.resume()
    req.on("end", () => handler(req, res))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

// ---------------------------------------------------------------------------
// The command, in this process

/** What the command run in this process wrote, and its exit code. */
export type CliResult = InProcessResult

/** A fresh state folder for the journal (one definition, in ./cli.ts). */
export { stateDir }

/**
 * Runs `qoery <args>` in this process with `env` as its environment and its
 * output captured (see `runInProcess` in ./cli.ts).
 */
export const runCli = (
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined> = {}
): Promise<CliResult> => runInProcess(args, env)

// ---------------------------------------------------------------------------
// Recorders of logs and spans

/** Every log line, at every level, with its annotations, spans and cause, as text. */
export const recordLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ annotations, cause, logLevel, message, spans }) => {
    const parts = [
      logLevel.label,
      ...(Array.isArray(message) ? message : [message]).map((m) => typeof m === "string" ? m : safeJson(m)),
      safeJson(Object.fromEntries(annotations)),
      List.toArray(spans).map((s) => s.label).join(","),
      Cause.isEmpty(cause) ? "" : Cause.pretty(cause, { renderErrorCause: true })
    ]
    lines.push(parts.join(" | "))
  })
  const layer = Layer.merge(
    Logger.replace(Logger.defaultLogger, logger),
    Logger.minimumLogLevel(LogLevel.All)
  )
  return { lines, layer }
}

/** Every span's name, attributes and events (with their attributes), and the cause it failed with, as text. */
export const recordSpans = () => {
  const lines: Array<string> = []
  const wrap = (inner: Tracer.Tracer) =>
    Tracer.make({
      context: (f, fiber) => inner.context(f, fiber),
      span: (name, parent, context, links, startTime, kind, options) => {
        const span = inner.span(name, parent, context, links, startTime, kind, options)
        const attributes = span.attributes
        lines.push(`span ${name}`)
        const attribute = span.attribute.bind(span)
        const event = span.event.bind(span)
        const end = span.end.bind(span)
        span.attribute = (key, value) => {
          lines.push(`attribute ${name} ${key}=${safeJson(value)}`)
          attribute(key, value)
        }
        span.event = (eventName, time, eventAttributes) => {
          lines.push(`event ${name} ${eventName} ${safeJson(eventAttributes ?? {})}`)
          event(eventName, time, eventAttributes)
        }
        // What an exporter takes from the end: the attributes, and the cause of a failure (not a success's value).
        span.end = (endTime, exit) => {
          const outcome = Exit.isFailure(exit) ? Cause.pretty(exit.cause, { renderErrorCause: true }) : "success"
          lines.push(`end ${name} ${safeJson(Object.fromEntries(attributes))} ${outcome}`)
          end(endTime, exit)
        }
        return span
      }
    })
  return {
    lines,
    withTracer: <A, E, R>(self: Effect.Effect<A, E, R>) =>
      Effect.flatMap(Effect.tracer, (t) => Effect.withTracer(self, wrap(t)))
  }
}

/** JSON that never throws (cycles, bigints). */
export const safeJson = (u: unknown): string => {
  const seen = new WeakSet<object>()
  try {
    return JSON.stringify(u, (_k, v) => {
      if (typeof v === "bigint") return `${v}n`
      if (typeof v === "object" && v !== null) {
        if (seen.has(v)) return "[cycle]"
        seen.add(v)
      }
      return v
    }) ?? String(u)
  } catch (e) {
    return `unserializable: ${String(e)}`
  }
}

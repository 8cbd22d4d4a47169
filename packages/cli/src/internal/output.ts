/**
 * Where the command writes: results on stdout, progress and messages on
 * stderr. A terminal gets one progress line redrawn in place, a pipe one plain
 * line per change, `--json` NDJSON of each status on stdout and nothing else
 * there.
 */
import { JobStatus } from "@effect-qoery/client"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Durations from "./duration.js"

/** The streams a command writes to, and how. */
export interface Output {
  readonly json: boolean
  /** Whether stderr is a terminal and progress is drawn as one live line. */
  readonly live: boolean
  /** A line of result on stdout. */
  readonly result: (line: string) => Effect.Effect<void>
  /** A line of message on stderr, above the live line when one is shown. */
  readonly message: (line: string) => Effect.Effect<void>
}

interface Streams {
  readonly stdout: { write(s: string): unknown }
  readonly stderr: { write(s: string): unknown; readonly isTTY?: boolean; readonly columns?: number }
}

const clearLine = "\r\x1b[2K"

let liveLine: string | undefined

const width = (streams: Streams) => {
  const columns = streams.stderr.columns
  return columns === undefined || columns < 20 ? 99 : columns - 1
}

const fit = (line: string, columns: number) => line.length > columns ? line.slice(0, columns - 1) + "…" : line

/** The output of this process; `live` when stderr is a terminal, unless `--json` or `QOERY_NO_LIVE` is set. */
export const make = (
  options: { readonly json: boolean },
  streams: Streams = process
): Output => {
  const live = !options.json && streams.stderr.isTTY === true && process.env.QOERY_NO_LIVE === undefined &&
    process.env.TERM !== "dumb"
  return {
    json: options.json,
    live,
    result: (line) =>
      Effect.sync(() => {
        if (liveLine !== undefined) streams.stderr.write(clearLine)
        streams.stdout.write(line + "\n")
        if (liveLine !== undefined) streams.stderr.write(liveLine)
      }),
    message: (line) =>
      Effect.sync(() => {
        streams.stderr.write(liveLine !== undefined ? `${clearLine}${line}\n${liveLine}` : line + "\n")
      })
  }
}

const drawLive = (line: string) =>
  Effect.sync(() => {
    const fitted = fit(line, width(process))
    liveLine = fitted
    process.stderr.write(clearLine + fitted)
  })

const endLive = Effect.sync(() => {
  if (liveLine !== undefined) process.stderr.write("\n")
  liveLine = undefined
})

/** A status in the spec's wire format, as one JSON line. */
export const wire = (status: JobStatus.JobStatus): string => JSON.stringify(encodeStatus(status))

const encodeStatus = Schema.encodeSync(JobStatus.JobStatus)

const bar = (done: number, total: number, size = 20) => {
  const filled = total <= 0 ? 0 : Math.min(size, Math.round((done / total) * size))
  return `[${"█".repeat(filled)}${"░".repeat(size - filled)}]`
}

const spinner = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

const elapsed = (status: JobStatus.JobStatus) => JobStatus.elapsed(status, DateTime.unsafeNow())

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

/** The live line: step, bar of urls, rows, elapsed, retries. */
export const liveText = (status: JobStatus.JobStatus, frame: number, retries: number): string => {
  const p = status.progress
  const head = status.status === "processing"
    ? `${spinner[frame % spinner.length]} ${p.currentStep.padEnd(12)}`
    : status.status === "completed"
    ? `✔ ${"completed".padEnd(12)}`
    : `✖ ${"error".padEnd(12)}`
  const tail = retries > 0 ? `  ${plural(retries, "retry").replace("retrys", "retries")}` : ""
  return `${head} ${bar(p.urlsProcessed, p.urlsTotal)} ${p.urlsProcessed}/${p.urlsTotal} urls  ${
    plural(p.rowsCollected, "row")
  }  ${Durations.clock(elapsed(status))}${tail}`
}

/** The plain line printed on a pipe for each change. */
export const plainText = (status: JobStatus.JobStatus): string => {
  const p = status.progress
  const state = status.status === "processing" ? p.currentStep : status.status
  return `${status.jobId} ${state}: ${p.urlsProcessed}/${p.urlsTotal} urls, ${plural(p.rowsCollected, "row")}, ${
    Durations.short(elapsed(status))
  }`
}

/** What a retry looks like to the progress view. */
export interface RetryInfo {
  readonly jobId: string
  readonly error: { readonly message: string }
  readonly attempt: number
  readonly delay: Duration.DurationInput
}

/** Shows the statuses of one job as they come. */
export interface Progress {
  readonly update: (status: JobStatus.JobStatus) => Effect.Effect<void>
  readonly retry: (info: RetryInfo) => Effect.Effect<void>
  /** Ends the live line; the view prints nothing after this. */
  readonly close: Effect.Effect<void>
}

/** A progress view for the output mode; a live one redraws on a timer so the clock moves between polls. */
export const progress = (output: Output): Effect.Effect<Progress, never, Scope.Scope> =>
  Effect.gen(function*() {
    let last: JobStatus.JobStatus | undefined
    let retries = 0
    let frame = 0
    let closed = false
    const redraw = Effect.suspend(() =>
      last === undefined || closed ? Effect.void : drawLive(liveText(last, frame++, retries))
    )
    const ticker = output.live
      ? yield* Effect.forkScoped(Effect.repeat(redraw, Schedule.spaced("120 millis")))
      : undefined
    const close = Effect.gen(function*() {
      if (closed) return
      if (ticker !== undefined) yield* Fiber.interrupt(ticker)
      if (output.live) {
        yield* redraw
        closed = true
        yield* endLive
      }
      closed = true
    })
    yield* Effect.addFinalizer(() => close)
    return {
      update: (status) =>
        Effect.suspend(() => {
          last = status
          if (output.json) return output.result(wire(status))
          if (output.live) return redraw
          return output.message(plainText(status))
        }),
      retry: (info) =>
        Effect.suspend(() => {
          retries++
          if (output.live) return redraw
          return output.message(
            `${info.jobId}: ${info.error.message}; retry ${info.attempt} in ${
              Durations.short(Duration.decode(info.delay))
            }`
          )
        }),
      close
    }
  })

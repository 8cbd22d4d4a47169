/**
 * Where the command writes: results on stdout, progress and messages on
 * stderr. A terminal gets one progress line redrawn in place, a pipe one plain
 * line per change, `--json` NDJSON of each status on stdout and nothing else
 * there. Everything goes through the `Stdio` service and time through the
 * `Clock`, so a test provides both.
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
import type { OutputError } from "./failure.js"
import { Stdio } from "./stdio.js"

/** The streams a command writes to, and how. */
export interface Output {
  readonly json: boolean
  /** Whether stderr is a terminal and progress is drawn as one live line. */
  readonly live: boolean
  /** A line of result on stdout. */
  readonly result: (line: string) => Effect.Effect<void, OutputError>
  /** Bytes on stdout, as they are (a CSV). */
  readonly raw: (chunk: Uint8Array) => Effect.Effect<void, OutputError>
  /** A line of message on stderr, above the live line when one is shown. */
  readonly message: (line: string) => Effect.Effect<void>
  /** Draws the live line (cut to the terminal's width). */
  readonly draw: (line: (columns: number) => string) => Effect.Effect<void>
  /** Ends the live line, if one is shown. */
  readonly endLive: Effect.Effect<void>
}

const clearLine = "\r\x1b[2K"

/** The width a live line may use: the terminal's, less one column so it never wraps. */
const widthOf = (columns: number | undefined) => columns === undefined || columns < 10 ? 99 : columns - 1

// C0 controls but tab and line feed, DEL, C1 controls.
// eslint-disable-next-line no-control-regex
const control = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/
const controls = new RegExp(control.source, "g")

/**
 * A line as text a terminal shows, not obeys: what a server sends (a job's
 * `error`, its query, a step, an error body) is printed in lines of ours, and
 * an escape sequence or a carriage return in it could clear the screen,
 * retitle the window or overwrite what was printed. Each control character
 * is shown as `\xHH`. (JSON lines escape them already.)
 */
export const printable = (line: string): string =>
  control.test(line)
    ? line.replace(controls, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)
    : line

/** The output of this command; `live` when stderr is a terminal, unless `--json`, `QOERY_NO_LIVE` or `TERM=dumb`. */
export const make = (options: { readonly json: boolean }): Effect.Effect<Output, never, Stdio> =>
  Effect.map(Stdio, (stdio): Output => {
    let liveLine: string | undefined
    const live = !options.json && stdio.live
    const aroundLive = <E>(write: Effect.Effect<void, E>) =>
      liveLine === undefined
        ? write
        : Effect.zipRight(stdio.err(clearLine), Effect.ensuring(write, Effect.suspend(() => stdio.err(liveLine!))))
    return {
      json: options.json,
      live,
      result: (line) => Effect.suspend(() => aroundLive(stdio.out(printable(line) + "\n"))),
      raw: (chunk) => stdio.out(chunk),
      message: (line) =>
        Effect.suspend(() => {
          const shown = printable(line)
          return stdio.err(liveLine !== undefined ? `${clearLine}${shown}\n${liveLine}` : shown + "\n")
        }),
      draw: (line) =>
        Effect.suspend(() => {
          const fitted = printable(line(widthOf(stdio.columns())))
          liveLine = fitted
          return stdio.err(clearLine + fitted)
        }),
      endLive: Effect.suspend(() => {
        const shown = liveLine !== undefined
        liveLine = undefined
        return shown ? stdio.err("\n") : Effect.void
      })
    }
  })

/** A status in the spec's wire format, as one JSON line. */
export const wire = (status: JobStatus.JobStatus): string => JSON.stringify(encodeStatus(status))

const encodeStatus = Schema.encodeSync(JobStatus.JobStatus)

const bar = (done: number, total: number, size: number) => {
  const filled = total <= 0 ? 0 : Math.min(size, Math.round((done / total) * size))
  return `[${"█".repeat(filled)}${"░".repeat(size - filled)}]`
}

const spinner = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

const fit = (line: string, columns: number) => line.length > columns ? line.slice(0, columns - 1) + "…" : line

/** The widest bar, and the narrowest worth drawing. */
const barSize = { max: 20, min: 5 }

/**
 * The live line: step, bar of urls, counts, elapsed, retries. When it does
 * not fit in `columns`, the bar shrinks, then goes, then the step's padding:
 * the step, the counts and the time stay.
 */
export const liveText = (
  status: JobStatus.JobStatus,
  elapsed: Duration.Duration,
  frame: number,
  retries: number,
  columns = 99
): string => {
  const p = status.progress
  const [mark, step] = status.status === "processing"
    ? [spinner[frame % spinner.length], p.currentStep]
    : status.status === "completed"
    ? ["✔", "completed"]
    : ["✖", "error"]
  const retry = retries > 0 ? `  ${plural(retries, "retry").replace("retrys", "retries")}` : ""
  const counts = `${p.urlsProcessed}/${p.urlsTotal} urls  ${plural(p.rowsCollected, "row")}  ${
    Durations.clock(elapsed)
  }${retry}`
  const padded = `${mark} ${step.padEnd(12)}`
  // Everything but the bar, and the room left for it (its brackets and the spaces around it included).
  const room = columns - padded.length - counts.length - 4
  if (room >= barSize.min) {
    return `${padded} ${bar(p.urlsProcessed, p.urlsTotal, Math.min(barSize.max, room))} ${counts}`
  }
  const withoutBar = `${padded} ${counts}`
  return fit(withoutBar.length <= columns ? withoutBar : `${mark} ${step} ${counts}`, columns)
}

/** The plain line printed on a pipe for each change. */
export const plainText = (status: JobStatus.JobStatus, elapsed: Duration.Duration): string => {
  const p = status.progress
  const state = status.status === "processing" ? p.currentStep : status.status
  return `${status.jobId} ${state}: ${p.urlsProcessed}/${p.urlsTotal} urls, ${plural(p.rowsCollected, "row")}, ${
    Durations.short(elapsed)
  }`
}

/** What a retry looks like to the progress view (the watcher's and the CSV download's `RetryInfo`). */
export interface RetryInfo {
  readonly jobId: string
  readonly error: { readonly message: string }
  readonly attempt: number
  readonly delay: Duration.DurationInput
  readonly operation?: "status" | "csv" | undefined
}

/** From this long, a wait is said in a line of its own, even on a live terminal. */
export const longWait = Duration.seconds(5)

/**
 * The line that says a retry is coming: `JOB: 503 ...; retry 2 in 1.2s`, or
 * for a long wait, when it will be: `...; waiting 60s, retrying at 12:01:30 UTC`.
 */
export const retryText = (info: RetryInfo, now: DateTime.Utc): string => {
  const delay = Duration.decode(info.delay)
  const what = info.operation === "csv" ? " (CSV download)" : ""
  if (Duration.lessThan(delay, longWait)) {
    return `${info.jobId}${what}: ${info.error.message}; retry ${info.attempt} in ${Durations.short(delay)}`
  }
  const at = DateTime.formatIso(DateTime.add(now, { millis: Duration.toMillis(delay) })).slice(11, 19)
  return `${info.jobId}${what}: ${info.error.message}; waiting ${Durations.short(delay)}, retrying at ${at} UTC`
}

/** Says a retry on stderr (the CSV download's, which has no live line). */
export const retryMessage = (output: Output) => (info: RetryInfo) =>
  Effect.flatMap(DateTime.now, (now) => output.message(retryText(info, now)))

/** Shows the statuses of one job as they come. */
export interface Progress {
  readonly update: (status: JobStatus.JobStatus) => Effect.Effect<void, OutputError>
  readonly retry: (info: RetryInfo) => Effect.Effect<void>
  /** Ends the live line; the view prints nothing after this. */
  readonly close: Effect.Effect<void>
}

/** How long the job has run, by the `Clock`. */
const elapsedOf = (status: JobStatus.JobStatus) => Effect.map(DateTime.now, (now) => JobStatus.elapsed(status, now))

/** A progress view for the output mode; a live one redraws on a timer so the clock moves between polls. */
export const progress = (output: Output): Effect.Effect<Progress, never, Scope.Scope> =>
  Effect.gen(function*() {
    let last: JobStatus.JobStatus | undefined
    let retries = 0
    let frame = 0
    let closed = false
    const redraw = Effect.suspend(() => {
      const status = last
      if (status === undefined || closed) return Effect.void
      const at = frame++
      return Effect.flatMap(
        elapsedOf(status),
        (elapsed) => output.draw((columns) => liveText(status, elapsed, at, retries, columns))
      )
    })
    const ticker = output.live
      ? yield* Effect.forkScoped(Effect.repeat(redraw, Schedule.spaced("120 millis")))
      : undefined
    const close = Effect.gen(function*() {
      if (closed) return
      if (ticker !== undefined) yield* Fiber.interrupt(ticker)
      if (output.live) {
        yield* redraw
        closed = true
        yield* output.endLive
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
          return Effect.flatMap(elapsedOf(status), (elapsed) => output.message(plainText(status, elapsed)))
        }),
      retry: (info) =>
        Effect.suspend(() => {
          retries++
          const long = !Duration.lessThan(Duration.decode(info.delay), longWait)
          if (output.live && !long) return redraw
          return Effect.zipRight(retryMessage(output)(info), output.live ? redraw : Effect.void)
        }),
      close
    }
  })

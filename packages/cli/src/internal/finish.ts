/**
 * What `run` and `resume` do once a job has ended: write its CSV where they
 * were told to and say so, or fail with `JobFailed`; and record the end in
 * the journal.
 */
import type { JobStatus } from "@effect-qoery/client"
import { JobWatcher } from "@effect-qoery/client"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import * as CsvFile from "./csvFile.js"
import * as Durations from "./duration.js"
import type { Ended } from "./follow.js"
import * as Journal from "./journal.js"
import * as Output from "./output.js"

const kb = (bytes: number) => bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`

/** `file` relative to the working folder when it is inside it, else as given. */
export const displayPath = (path: Path.Path, file: string) => {
  const relative = path.relative(path.resolve(), file)
  return relative.startsWith("..") || path.isAbsolute(relative) ? file : relative
}

/** A size for messages: `812 B`, `11.5 KB`. */
export const size = kb

/** Records the end of a job; the journal was checked before the job started, so a failure here only warns. */
export const journalEnded = (output: Output.Output, fields: Parameters<typeof Journal.ended>[0]) =>
  Journal.ended(fields).pipe(
    Effect.catchAll((error) =>
      output.message(`warning: could not record the end of job ${fields.jobId}: ${error.message}.`)
    )
  )

/**
 * How long a completed job's CSV may answer "not ready" (a server that
 * publishes the file a moment after the status): retried every half second,
 * ten times, about five seconds.
 */
export const csvGrace = Schedule.spaced("500 millis").pipe(Schedule.intersect(Schedule.recurs(10)))

/**
 * The CSV of a completed job, retried while it is not ready for the grace;
 * a job that completed with no rows then gets a CSV of the header alone.
 */
export const saveCompleted = (output: Output.Output, status: JobStatus.Completed, out: string) =>
  CsvFile.write(status.jobId, out, Output.retryMessage(output)).pipe(
    Effect.retry({ schedule: csvGrace, while: (error) => Predicate.isTagged(error, "CsvNotReady") }),
    Effect.catchTag("CsvNotReady", (error) =>
      Effect.if(status.progress.rowsCollected === 0, {
        onTrue: () => CsvFile.writeHeaderOnly(out),
        onFalse: () => Effect.fail(error)
      }))
  )

/** After a job ended: write its CSV and summary when it completed, fail with `JobFailed` otherwise. */
export const finish = (options: {
  readonly output: Output.Output
  readonly status: Ended
  readonly out: string
  /** When the command started, by the `Clock`, for the summary. */
  readonly startedAt: number
  readonly baseUrl: string
  /** Whether the job is in the journal (not under `--no-journal`). */
  readonly journaled: boolean
}) =>
  Effect.gen(function*() {
    const { output, status } = options
    const path = yield* Path.Path
    const record = (outcome: "completed" | "error") =>
      options.journaled ? journalEnded(output, { jobId: status.jobId, baseUrl: options.baseUrl, outcome }) : Effect.void
    if (status.status === "error") {
      yield* record("error")
      return yield* new JobWatcher.JobFailed({ status })
    }
    const saved = yield* saveCompleted(output, status, options.out)
    yield* record("completed")
    const took = Duration.millis((yield* Clock.currentTimeMillis) - options.startedAt)
    const summary = `Done: ${saved.rows} rows × ${saved.columns} columns written to ${
      displayPath(path, options.out)
    } (${kb(saved.bytes)}) in ${Durations.short(took)}.`
    yield* output.json ? output.message(summary) : output.result(summary)
  })

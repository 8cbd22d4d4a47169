/**
 * The watch-and-render flow that `run`, `watch` and `resume` share: the
 * statuses of one job shown as they come (live line, plain lines or NDJSON),
 * to its terminal status, and on Ctrl-C a line saying how to pick the job up.
 */
import type { JobStatus, JobWatcher } from "@effect-qoery/client"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Connection from "./connection.js"
import type * as Flags from "./flags.js"
import * as Output from "./output.js"

/** A job's end: completed with its CSV, or failed. */
export type Ended = JobStatus.Completed | JobStatus.Failed

/**
 * The watcher's options for the flags. An explicit `--interval` is used as
 * given: `run` would take the server's hint instead, and clamp a hint to
 * 250 ms..60 s, so the interval is passed as the hint too, with the clamp
 * narrowed to that one value. (The flag itself has a floor of 100 ms.)
 */
export const watchOptions = (flags: Flags.Watch, progress: Output.Progress): JobWatcher.WatchOptions => ({
  ...Option.match(flags.interval, {
    onNone: () => ({}),
    onSome: (interval) => ({ interval, pollingInterval: interval, minInterval: interval, maxInterval: interval })
  }),
  ...Option.match(flags.timeout, { onNone: () => ({}), onSome: (timeout) => ({ timeout }) }),
  onRetry: (info) => progress.retry(info)
})

const interrupted = (
  output: Output.Output,
  jobId: string | undefined,
  connection: Connection.Connection,
  journaled: boolean
) =>
  jobId === undefined
    ? output.message(
      connection.embedded
        ? "Interrupted before the job started."
        : "Interrupted before the start was answered: if the request reached the server, a job may have started there, but its id never came back, so it is not journaled."
    )
    : connection.embedded
    ? output.message(
      `Interrupted: stopped watching job ${jobId}. It ran on the embedded emulator, which stopped with this command; run it again to start over.`
    )
    : output.message(
      `Interrupted: stopped watching job ${jobId}; it goes on on the server. Pick it up with ${
        journaled ? `\`qoery resume\` (or \`qoery watch ${jobId}\`)` : `\`qoery watch ${jobId}\``
      }.`
    )

/** Shows a job's statuses until it ends and gives its terminal status. */
export const follow = <E, R>(options: {
  readonly output: Output.Output
  readonly connection: Connection.Connection
  readonly flags: Flags.Watch
  /** The job's id, once known (`run` knows it after the start answer). */
  readonly jobId: () => string | undefined
  /** Whether the job is journaled, for the line on Ctrl-C (default: it is). */
  readonly journaled?: boolean
  /** The statuses of the job, watched with these options. */
  readonly statuses: (options: JobWatcher.WatchOptions) => Stream.Stream<JobStatus.JobStatus, E, R>
}) =>
  Effect.scoped(Effect.gen(function*() {
    const { output } = options
    const progress = yield* Output.progress(output)
    const last = yield* options.statuses(watchOptions(options.flags, progress)).pipe(
      Stream.tap((status) => progress.update(status)),
      Stream.runLast,
      Effect.onInterrupt(() =>
        Effect.zipRight(
          progress.close,
          Effect.suspend(() => interrupted(output, options.jobId(), options.connection, options.journaled ?? true))
        )
      )
    )
    yield* progress.close
    // The watcher's stream ends right after a terminal status, and only then.
    const status = Option.getOrUndefined(last)
    if (status === undefined || status.status === "processing") {
      return yield* Effect.dieMessage("the watcher ended without a terminal status")
    }
    return status
  }))

/** `qoery resume`: watches every journaled job with no recorded end and writes its CSV to its `--out`. */
import { JobWatcher, QoeryClient } from "@effect-qoery/client"
import * as Command from "@effect/cli/Command"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Connection from "../connection.js"
import * as Failure from "../failure.js"
import { finish, journalEnded } from "../finish.js"
import * as Flags from "../flags.js"
import { follow } from "../follow.js"
import * as Journal from "../journal.js"
import * as Output from "../output.js"

/**
 * The handler of `qoery resume`. The key goes only to the configured origin: a job journaled on another one is
 * left in the journal, with the base URL to set for it. One `resume` at a time holds the journal; it is
 * compacted when done.
 */
export const handler = (args: Flags.Watch & Connection.Flags) =>
  Effect.scoped(Effect.gen(function*() {
    const output = yield* Output.make({ json: args.json })
    const origin = Option.getOrElse(args.baseUrl, () => QoeryClient.defaultBaseUrl)
    yield* Connection.checkBaseUrl(origin)
    yield* Journal.hold((reason) =>
      output.message(
        `warning: lost the lock on the journal (${reason}); another qoery resume may fetch these jobs too.`
      )
    )
    const { pending, warnings } = yield* Journal.read
    for (const warning of warnings) yield* output.message(warning)
    if (pending.length === 0) {
      yield* output.message(`Nothing to resume: every job in ${yield* Journal.path} has ended.`)
      return
    }
    const here = pending.filter((entry) =>
      entry.embedded === true || Journal.originOf(entry.baseUrl) === Journal.originOf(origin)
    )
    const elsewhere = pending.filter((entry) => !here.includes(entry))
    if (here.length > 0) yield* output.message(`Resuming ${here.length} job${here.length === 1 ? "" : "s"}.`)
    let worst = 0
    for (const entry of here) {
      if (entry.embedded === true) {
        yield* output.message(
          `Job ${entry.jobId} (${
            JSON.stringify(entry.search)
          }) ran on an embedded emulator that stopped with its command; it cannot be recovered. Run it again: qoery run ${
            JSON.stringify(entry.search)
          }`
        )
        yield* journalEnded(output, { jobId: entry.jobId, baseUrl: entry.baseUrl, outcome: "lost" })
        continue
      }
      yield* output.message(`Job ${entry.jobId} (${JSON.stringify(entry.search)}) on ${origin}:`)
      // The configured origin, never the journal's: the key is sent nowhere else.
      const connection: Connection.Connection = {
        baseUrl: origin,
        apiKey: Option.getOrUndefined(args.apiKey),
        embedded: false
      }
      const startedAt = yield* Clock.currentTimeMillis
      const code = yield* Effect.gen(function*() {
        const status = yield* follow({
          output,
          connection,
          flags: args,
          jobId: () => entry.jobId,
          statuses: (options) => JobWatcher.watch(entry.jobId, options)
        })
        yield* finish({ output, status, out: entry.out, startedAt, baseUrl: entry.baseUrl, journaled: true })
        return 0
      }).pipe(
        Effect.provide(Connection.clientLayer(connection)),
        Effect.tapErrorTag(
          "JobNotFound",
          () => journalEnded(output, { jobId: entry.jobId, baseUrl: entry.baseUrl, outcome: "lost" })
        ),
        Effect.catchAll(Connection.report(output, connection)),
        Effect.catchTag("Reported", (reported) => Effect.succeed(reported.code))
      )
      worst = Math.max(worst, code)
    }
    for (const entry of elsewhere) {
      yield* output.message(
        `Job ${entry.jobId} (${
          JSON.stringify(entry.search)
        }) was started on ${entry.baseUrl}, not ${origin}; left in the journal. To resume it, set QOERY_BASE_URL=${entry.baseUrl} (or pass --base-url ${entry.baseUrl}) with that server's key and run qoery resume again.`
      )
    }
    if (elsewhere.length > 0) worst = Math.max(worst, Failure.ExitCode.Usage)
    if (worst !== 0) return yield* new Failure.Reported({ code: worst })
  }))

/** `qoery resume` */
export const command = Command.make("resume", { ...Flags.watch, ...Connection.flags }, handler).pipe(
  Command.withDescription(Flags.describe(
    "Watches every job `qoery run` journaled that has no recorded end, and writes its CSV where that run was told to.",
    "qoery resume"
  ))
)

/** `qoery resume`: watches every journaled job with no recorded end and writes its CSV to its `--out`. */
import { JobWatcher } from "@effect-qoery/client"
import * as Command from "@effect/cli/Command"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Connection from "../connection.js"
import * as Failure from "../failure.js"
import { finish } from "../finish.js"
import * as Flags from "../flags.js"
import { follow } from "../follow.js"
import * as Journal from "../journal.js"
import * as Output from "../output.js"

/** The handler of `qoery resume`. */
export const handler = (args: Flags.Watch & Connection.Flags) =>
  Effect.gen(function*() {
    const output = yield* Output.make({ json: args.json })
    const pending = yield* Journal.pending
    if (pending.length === 0) {
      yield* output.message(`Nothing to resume: every job in ${yield* Journal.path} has ended.`)
      return
    }
    yield* output.message(`Resuming ${pending.length} job${pending.length === 1 ? "" : "s"}.`)
    let worst = 0
    for (const entry of pending) {
      if (entry.embedded === true) {
        yield* output.message(
          `Job ${entry.jobId} (${
            JSON.stringify(entry.search)
          }) ran on an embedded emulator that stopped with its command; it cannot be recovered. Run it again: qoery run ${
            JSON.stringify(entry.search)
          }`
        )
        yield* Journal.ended({ jobId: entry.jobId, baseUrl: entry.baseUrl, outcome: "lost" })
        continue
      }
      yield* output.message(`Job ${entry.jobId} (${JSON.stringify(entry.search)}) on ${entry.baseUrl}:`)
      const connection: Connection.Connection = {
        baseUrl: entry.baseUrl,
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
        yield* finish({ output, status, out: entry.out, startedAt, baseUrl: entry.baseUrl })
        return 0
      }).pipe(
        Effect.provide(Connection.clientLayer(connection)),
        Effect.tapErrorTag("JobNotFound", () =>
          Journal.ended({ jobId: entry.jobId, baseUrl: entry.baseUrl, outcome: "lost" })),
        Effect.catchAll(Connection.report(output, connection)),
        Effect.catchTag("Reported", (reported) =>
          Effect.succeed(reported.code))
      )
      worst = Math.max(worst, code)
    }
    if (worst !== 0) return yield* new Failure.Reported({ code: worst })
  })

/** `qoery resume` */
export const command = Command.make("resume", { ...Flags.watch, ...Connection.flags }, handler).pipe(
  Command.withDescription(Flags.describe(
    "Watches every job `qoery run` journaled that has no recorded end, and writes its CSV where that run was told to.",
    "qoery resume"
  ))
)

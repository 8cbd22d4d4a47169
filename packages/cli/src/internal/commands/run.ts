/**
 * `qoery run <search>`: starts a job, journals it, follows it to its end and
 * writes its CSV.
 */
import { JobWatcher, QoeryClient } from "@effect-qoery/client"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Connection from "../connection.js"
import { UsageError } from "../failure.js"
import { finish } from "../finish.js"
import * as Flags from "../flags.js"
import { follow } from "../follow.js"
import * as Journal from "../journal.js"
import * as Output from "../output.js"

const validSearch = (search: string) =>
  Either.match(QoeryClient.validateSearch(search), {
    onLeft: (error) =>
      Effect.fail(
        new UsageError({
          problem: search.trim() === "" ? "the search is empty" : error.description,
          hint: "Pass what to search for as one argument, e.g. qoery run \"climate change statistics\""
        })
      ),
    onRight: Effect.succeed
  })

/** The handler of `qoery run`. */
export const handler = (
  args: Flags.Watch & Connection.Flags & {
    readonly search: string
    readonly out: Option.Option<string>
    readonly noJournal: boolean
  }
) =>
  Effect.gen(function*() {
    const search = yield* validSearch(args.search)
    // Decided once, before the job starts: no job is started that `resume` could not pick up.
    const journaled = !args.noJournal
    const output = yield* Output.make({ json: args.json })
    const path = yield* Path.Path
    const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    const startedAt = yield* Clock.currentTimeMillis
    yield* Connection.withClient(args, output, (connection) =>
      Effect.gen(function*() {
        if (journaled) yield* Journal.check
        let jobId: string | undefined
        let out = ""
        const status = yield* follow({
          output,
          connection,
          flags: args,
          jobId: () => jobId,
          journaled,
          statuses: (options) =>
            JobWatcher.run(search, {
              ...options,
              onStarted: (started) =>
                Effect.gen(function*() {
                  jobId = started.jobId
                  out = path.resolve(Option.getOrElse(args.out, () => `${started.jobId}.csv`))
                  if (journaled) {
                    yield* Journal.started({
                      jobId: started.jobId,
                      search,
                      baseUrl: connection.baseUrl,
                      out,
                      ...(connection.embedded ? { embedded: true } : {})
                    }).pipe(
                      Effect.catchAll((error) =>
                        output.message(`warning: ${error.message}; \`qoery resume\` will not know this job.`)
                      )
                    )
                  }
                  yield* output.message(`Started job ${started.jobId} for ${JSON.stringify(search)}.`)
                }).pipe(Effect.provide(context))
            })
        })
        yield* finish({ output, status, out, startedAt, baseUrl: connection.baseUrl, journaled })
      }))
  })

/** `qoery run` */
export const command = Command.make("run", {
  search: Args.text({ name: "search" }).pipe(Args.withDescription("What to build a dataset of, as one argument.")),
  out: Flags.out("Where to write the CSV (default: <job-id>.csv). Written whole or not at all."),
  noJournal: Options.boolean("no-journal").pipe(
    Options.withDescription("Do not journal the job (then `qoery resume` cannot pick it up if this command is killed).")
  ),
  ...Flags.watch,
  ...Connection.flags
}, handler).pipe(Command.withDescription(Flags.describe(
  "Starts a dataset job, shows its progress until it ends, then writes its CSV. The job is journaled first, so `qoery resume` can finish it if this command is killed.",
  "qoery run \"climate change statistics\" --out out/climate.csv"
)))

/** `qoery watch <job-id>`: follows a job to its end. */
import { JobWatcher } from "@effect-qoery/client"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Connection from "../connection.js"
import * as Flags from "../flags.js"
import { follow } from "../follow.js"
import * as Output from "../output.js"

/** The handler of `qoery watch`. */
export const handler = (args: Flags.Watch & Connection.Flags & { readonly jobId: string }) =>
  Effect.gen(function*() {
    const jobId = yield* Flags.validJobId(args.jobId)
    const output = yield* Output.make({ json: args.json })
    yield* Connection.withClient(args, output, (connection) =>
      Effect.gen(function*() {
        const status = yield* follow({
          output,
          connection,
          flags: args,
          jobId: () => jobId,
          statuses: (options) => JobWatcher.watch(jobId, options)
        })
        if (status.status === "error") return yield* new JobWatcher.JobFailed({ status })
        const line =
          `Job ${jobId} completed: ${status.progress.rowsCollected} rows. Save them with \`qoery csv ${jobId} --out FILE\`.`
        yield* output.json ? output.message(line) : output.result(line)
      }))
  })

/** `qoery watch` */
export const command = Command.make("watch", { jobId: Flags.jobId, ...Flags.watch, ...Connection.flags }, handler)
  .pipe(Command.withDescription(Flags.describe(
    "Shows the progress of a job until it ends.",
    "qoery watch 20251110_151628 --json | jq .progress"
  )))

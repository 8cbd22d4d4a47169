/** `qoery csv <job-id> [--out FILE]`: the CSV so far, partial while the job runs. */
import { DatasetCsv, QoeryClient } from "@effect-qoery/client"
import * as Command from "@effect/cli/Command"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Connection from "../connection.js"
import * as CsvFile from "../csvFile.js"
import { displayPath, size } from "../finish.js"
import * as Flags from "../flags.js"
import * as Output from "../output.js"

/** The handler of `qoery csv`. */
export const handler = (args: Connection.Flags & { readonly jobId: string; readonly out: Option.Option<string> }) =>
  Effect.gen(function*() {
    const jobId = yield* Flags.validJobId(args.jobId)
    const output = yield* Output.make({ json: false })
    const path = yield* Path.Path
    yield* Connection.withClient(args, output, () =>
      Effect.gen(function*() {
        const client = yield* QoeryClient.QoeryClient
        const current = yield* client.getStatus(jobId)
        const partial = current.status === "processing"
          ? `the job is still at ${current.progress.currentStep}`
          : current.status === "error"
          ? "the job ended in error"
          : undefined
        if (Option.isNone(args.out)) {
          // Checked as `--out` checks it (the header line and its columns) before the first byte is written,
          // then streamed: an HTML error page or an empty body is a CsvError (exit 3), not a CSV on stdout.
          yield* DatasetCsv.bytes(jobId).pipe(Stream.runForEach((chunk) => output.raw(chunk)))
          if (partial !== undefined) yield* output.message(`The CSV above is partial: ${partial}.`)
          return
        }
        const out = path.resolve(args.out.value)
        const saved = yield* CsvFile.write(jobId, out, Output.retryMessage(output))
        yield* output.message(
          `Wrote ${saved.rows} rows × ${saved.columns} columns to ${displayPath(path, out)} (${size(saved.bytes)})${
            partial === undefined ? "" : ` (partial: ${partial})`
          }.`
        )
      }))
  })

/** `qoery csv` */
export const command = Command.make("csv", {
  jobId: Flags.jobId,
  out: Flags.out("Where to write the CSV, whole or not at all (default: stdout)."),
  ...Connection.flags
}, handler).pipe(Command.withDescription(Flags.describe(
  "Downloads the CSV of a job; while the job runs, the rows collected so far.",
  "qoery csv 20251110_151628 --out data.csv"
)))

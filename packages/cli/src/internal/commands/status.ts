/** `qoery status <job-id>`: the current status of a job; exits 1 when the job is in error. */
import type { JobStatus } from "@effect-qoery/client"
import { QoeryClient } from "@effect-qoery/client"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Connection from "../connection.js"
import { ExitCode, Reported } from "../failure.js"
import * as Flags from "../flags.js"
import * as Output from "../output.js"

const describeStatus = (status: JobStatus.JobStatus): ReadonlyArray<string> => {
  const p = status.progress
  const lines = [
    `job       ${status.jobId}`,
    `search    ${status.query}`,
    `status    ${status.status}${status.status === "processing" ? ` (${p.currentStep})` : ""}`,
    `progress  ${p.urlsProcessed}/${p.urlsTotal} urls, ${p.rowsCollected} rows`,
    `started   ${status.startedAt.toJSON()}`
  ]
  if (status.status !== "processing" && status.completedAt !== undefined) {
    lines.push(`ended     ${status.completedAt.toJSON()}`)
  }
  if (status.status === "error") lines.push(`error     ${status.error}`)
  return lines
}

/** The handler of `qoery status`. */
export const handler = (args: Connection.Flags & { readonly jobId: string; readonly json: boolean }) =>
  Effect.gen(function*() {
    const jobId = yield* Flags.validJobId(args.jobId)
    const output = yield* Output.make({ json: args.json })
    yield* Connection.withClient(args, output, () =>
      Effect.gen(function*() {
        const current = yield* Effect.flatMap(QoeryClient.QoeryClient, (client) => client.getStatus(jobId))
        if (output.json) yield* output.result(Output.wire(current))
        else for (const line of describeStatus(current)) yield* output.result(line)
        if (current.status === "error") return yield* new Reported({ code: ExitCode.JobFailed })
      }))
  })

/** `qoery status` */
export const command = Command.make("status", { jobId: Flags.jobId, json: Flags.json, ...Connection.flags }, handler)
  .pipe(Command.withDescription(Flags.describe(
    "Prints the current status of a job (exit 1 when the job is in error).",
    "qoery status 20251110_151628"
  )))

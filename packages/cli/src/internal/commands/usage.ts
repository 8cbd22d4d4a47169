/** `qoery usage`: the usage and quota of the API key. */
import { Payloads, QoeryClient } from "@effect-qoery/client"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Connection from "../connection.js"
import * as Flags from "../flags.js"
import * as Output from "../output.js"

/** The handler of `qoery usage`. */
export const handler = (args: Connection.Flags & { readonly json: boolean }) =>
  Effect.gen(function*() {
    const output = yield* Output.make({ json: args.json })
    yield* Connection.withClient(args, output, () =>
      Effect.gen(function*() {
        const stats = yield* Effect.flatMap(QoeryClient.QoeryClient, (client) => client.usage)
        if (output.json) return yield* output.result(JSON.stringify(Schema.encodeSync(Payloads.UsageStats)(stats)))
        yield* output.result(`plan    ${stats.plan}`)
        yield* output.result(`calls   ${stats.totalUsage} this month, ${stats.totalErrors} errors`)
        for (const e of stats.endpointBreakdown) {
          yield* output.result(
            `  ${e.endpoint.padEnd(28)} ${String(e.calls).padStart(6)} / ${e.limit}  (${e.errors} errors)`
          )
        }
      }))
  })

/** `qoery usage` */
export const command = Command.make("usage", { json: Flags.json, ...Connection.flags }, handler).pipe(
  Command.withDescription(Flags.describe("Shows the usage and quota of the API key.", "qoery usage --json"))
)

/** `qoery health`: whether the API is up. */
import { Payloads, QoeryClient } from "@effect-qoery/client"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Connection from "../connection.js"
import * as Flags from "../flags.js"
import * as Output from "../output.js"

/** The handler of `qoery health`. */
export const handler = (args: Connection.Flags & { readonly json: boolean }) =>
  Effect.gen(function*() {
    const output = yield* Output.make({ json: args.json })
    yield* Connection.withClient(args, output, (connection) =>
      Effect.gen(function*() {
        const health = yield* Effect.flatMap(QoeryClient.QoeryClient, (client) => client.health)
        if (output.json) {
          return yield* output.result(JSON.stringify(Schema.encodeSync(Payloads.HealthResponse)(health)))
        }
        yield* output.result(`${connection.baseUrl}: ${health.status} (${health.timestamp.toJSON()})`)
      }))
  })

/** `qoery health` */
export const command = Command.make("health", { json: Flags.json, ...Connection.flags }, handler).pipe(
  Command.withDescription(
    Flags.describe("Says whether the API is up.", "qoery health --base-url http://127.0.0.1:8787")
  )
)

/** `qoery plans`: the subscription plans. */
import { Payloads, QoeryClient } from "@effect-qoery/client"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Connection from "../connection.js"
import * as Flags from "../flags.js"
import * as Output from "../output.js"

/** The handler of `qoery plans`. */
export const handler = (args: Connection.Flags & { readonly json: boolean }) =>
  Effect.gen(function*() {
    const output = yield* Output.make({ json: args.json })
    yield* Connection.withClient(args, output, () =>
      Effect.gen(function*() {
        const response = yield* Effect.flatMap(QoeryClient.QoeryClient, (client) => client.plans)
        if (output.json) {
          return yield* output.result(JSON.stringify(Schema.encodeSync(Payloads.PlansResponse)(response)))
        }
        for (const [key, plan] of Object.entries(response.plans)) {
          const limits = Object.entries(plan.limits).map(([k, v]) => `${k} ${v}`).join(", ")
          yield* output.result(
            `${key === response.defaultPlan ? "*" : " "} ${plan.name.padEnd(10)} ${plan.price.padEnd(12)} ${limits}`
          )
        }
      }))
  })

/** `qoery plans` */
export const command = Command.make("plans", { json: Flags.json, ...Connection.flags }, handler).pipe(
  Command.withDescription(Flags.describe("Lists the subscription plans.", "qoery plans"))
)

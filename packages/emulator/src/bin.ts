#!/usr/bin/env node
/**
 * `qoery-emulator`: serves the Qoery API emulator until SIGINT or SIGTERM.
 *
 *   qoery-emulator [--port 8787] [--host 127.0.0.1] [--job-duration 3s]
 *                  [--polling-interval 1s] [--api-key KEY]... [--quota 10000]
 *                  [--admin] [--seed N] [--compress] [--quiet]
 *
 * Prints the base URL as the first line of stdout and one line per request
 * to stderr (the emulator logs them with `Effect.logInfo`; this command
 * installs the logger that prints them).
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import { parseArgs } from "node:util"
import * as DurationFlag from "./DurationFlag.js"
import * as Emulator from "./Emulator.js"

const usage = `usage: qoery-emulator [--port N] [--host H] [--job-duration 3s] [--polling-interval 1s]
                      [--api-key KEY]... [--quota N] [--admin] [--seed N] [--compress] [--quiet]

  --port N              port to listen on, 0 picks a free one (default 8787)
  --host H              interface to listen on (default 127.0.0.1)
  --job-duration D      time from start to completed: 3s, 500ms, 2m (default 3s)
  --polling-interval D  polling_interval_ms suggested on start (default 1s)
  --api-key KEY         an accepted key, repeatable (default ${Emulator.demoApiKey})
  --quota N             monthly calls per key per endpoint (default 10000)
  --admin               serve POST|DELETE /__admin/faults and GET /__admin/stats
  --seed N              seed of rate faults (default 1)
  --compress            br, gzip or deflate bodies when the request accepts them, as a CDN would
  --quiet               no request log on stderr
`

const fail = (message: string): never => {
  process.stderr.write(`qoery-emulator: ${message}\n\n${usage}`)
  process.exit(2)
}

/** `3s`, `500ms`, `2m`, `1.5s`, `3 seconds`: the same reading as the `qoery` command's (a bare number is an error). */
const duration = (flag: string, input: string): Duration.Duration =>
  Either.getOrElse(DurationFlag.parse(input), (problem) => fail(`${flag}: ${problem}`))

const integer = (flag: string, input: string, min: number, max: number): number => {
  const n = Number(input)
  if (!/^\d+$/.test(input.trim()) || n < min || n > max) {
    return fail(`${flag}: expected an integer from ${min} to ${max}, got ${JSON.stringify(input)}`)
  }
  return n
}

let parsed: ReturnType<typeof parse>
const parse = () =>
  parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "job-duration": { type: "string" },
      "polling-interval": { type: "string" },
      "api-key": { type: "string", multiple: true },
      quota: { type: "string" },
      admin: { type: "boolean" },
      seed: { type: "string" },
      compress: { type: "boolean" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" }
    },
    strict: true,
    allowPositionals: false
  })
try {
  parsed = parse()
} catch (e) {
  fail(e instanceof Error ? e.message : String(e))
}
const values = parsed!.values
if (values.help) {
  process.stdout.write(usage)
  process.exit(0)
}

const options: Emulator.Options = {
  port: values.port === undefined ? 8787 : integer("--port", values.port, 0, 65535),
  host: values.host ?? "127.0.0.1",
  jobDuration: values["job-duration"] === undefined ? "3 seconds" : duration("--job-duration", values["job-duration"]),
  pollingInterval: values["polling-interval"] === undefined
    ? "1 second"
    : duration("--polling-interval", values["polling-interval"]),
  apiKeys: values["api-key"] === undefined || values["api-key"].length === 0
    ? [Emulator.demoApiKey]
    : values["api-key"].map((k) => k.trim() === "" ? fail("--api-key: the key is empty") : k),
  quota: values.quota === undefined ? 10_000 : integer("--quota", values.quota, 0, Number.MAX_SAFE_INTEGER),
  admin: values.admin ?? false,
  seed: values.seed === undefined ? 1 : integer("--seed", values.seed, 0, 2 ** 31 - 1),
  log: !(values.quiet ?? false),
  compress: values.compress ?? false
}

const program = Effect.gen(function*() {
  const emulator = yield* Emulator.Emulator
  process.stdout.write(`${emulator.baseUrl}\n`)
  process.stderr.write(
    `qoery-emulator: serving the Qoery API at ${emulator.baseUrl} (keys: ${options.apiKeys!.length}, job duration ${
      Duration.format(Duration.decode(options.jobDuration!))
    }${options.admin ? ", admin on" : ""}); Ctrl-C stops it\n`
  )
  return yield* Effect.never
})

const exit = (message: string, code: number) =>
  Effect.sync(() => {
    process.stderr.write(`qoery-emulator: ${message}\n`)
    process.exit(code)
  })

/** The request log: one plain line per message on stderr, after the time it was logged. */
const stderrLogger = Logger.make(({ cause, date, message }) => {
  const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
  process.stderr.write(`${date.toISOString()} ${text}${Cause.isEmpty(cause) ? "" : ` ${Cause.pretty(cause)}`}\n`)
})

// NodeRuntime.runMain interrupts the program on SIGINT/SIGTERM, which closes the server, and exits 0.
NodeRuntime.runMain(
  program.pipe(
    Effect.provide(Emulator.layer(options)),
    Effect.provide(Logger.replace(Logger.defaultLogger, stderrLogger)),
    Effect.catchTags({
      PortInUse: (error) =>
        exit(`${error.message}; stop what listens there or choose another with --port (--port 0 picks a free one)`, 2),
      ServeError: (error) =>
        exit(
          `cannot listen on ${options.host}:${options.port}: ${
            error.cause instanceof Error ? error.cause.message : String(error.cause)
          }`,
          1
        )
    }),
    Effect.tapErrorCause((cause) => Effect.sync(() => process.stderr.write(`qoery-emulator: ${cause}\n`)))
  ),
  { disableErrorReporting: true }
)

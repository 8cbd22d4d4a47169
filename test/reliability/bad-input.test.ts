/**
 * Bad input, in one table: each input with the field its error names, run
 * through the Effect API (the watcher's entry points and the layer), the
 * Promise API and the command (exit code 2 and a clear message), with the
 * proof that nothing reached the server (a loopback server counting every
 * request). The client's own unit tests (packages/client/test) cover
 * `QoeryClient` method by method; this is the table across the three APIs.
 * Then hostile requests to the emulator the emulator tests do not send.
 */
import { DatasetCsv, JobWatcher, QoeryClient } from "@effect-qoery/client"
import { createClient, type WatchOptions as PromiseWatchOptions } from "@effect-qoery/client/promise"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Cause, Effect, Exit, Layer, Stream } from "effect"
import * as path from "node:path"
import { clientLayer, type RecordingServer, recordingServer, runCli, serve, stateDir } from "../support/reliability.js"

const key = "bad-input-key"
let server: RecordingServer

beforeAll(async () => {
  server = await recordingServer()
})
afterAll(() => server.close())

type Row =
  | { readonly kind: "jobId"; readonly what: string; readonly value: string }
  | { readonly kind: "search"; readonly what: string; readonly value: string }
  | { readonly kind: "baseUrl"; readonly what: string; readonly value: (origin: string) => string }
  | { readonly kind: "apiKey"; readonly what: string; readonly value: string }
  | {
    readonly kind: "options"
    readonly what: string
    readonly field: string
    readonly value: JobWatcher.WatchOptions
    /** The same through the command's flags; absent where the command has no such flag. */
    readonly flags?: ReadonlyArray<string>
  }

/** The table. */
const table: ReadonlyArray<Row> = [
  { kind: "jobId", what: "empty", value: "" },
  { kind: "jobId", what: "spaces", value: "   " },
  { kind: "jobId", what: "pattern mismatch", value: "2025111_151628" },
  { kind: "jobId", what: "month 13", value: "20251310_151628" },
  { kind: "jobId", what: "February 30", value: "20250230_000000" },
  { kind: "jobId", what: "hour 24", value: "20251110_240000" },
  { kind: "jobId", what: "10 KB", value: "2".repeat(10 * 1024) },
  { kind: "jobId", what: "unicode digits", value: "２０２５１１１０_１５１６２８" },
  { kind: "jobId", what: "emoji", value: "20251110_15162😀" },
  { kind: "jobId", what: "path traversal", value: "../../etc/passwd" },
  { kind: "jobId", what: "a line break inside", value: "20251110\n_151628" },
  { kind: "search", what: "empty", value: "" },
  { kind: "search", what: "whitespace", value: " \t\r\n " },
  { kind: "search", what: "100 KB", value: "climate ".repeat(12_800) },
  { kind: "search", what: "NUL", value: "climate\u0000change" },
  { kind: "search", what: "escape sequence", value: "climate\u001b[2Jchange" },
  { kind: "search", what: "DEL", value: "climate\u007f" },
  { kind: "search", what: "zero-width spaces only", value: "\u200b\u200b" },
  { kind: "search", what: "a lone surrogate", value: "climate\ud800" },
  // A key an HTTP stack cannot put in a header: refused by name, its value never shown.
  { kind: "apiKey", what: "a trailing line break", value: `${key}\n` },
  { kind: "apiKey", what: "a NUL", value: `${key}\u0000x` },
  { kind: "apiKey", what: "a C1 control character", value: `${key}\u0085` },
  { kind: "apiKey", what: "a pasted emoji", value: `${key}😀` },
  { kind: "apiKey", what: "a character beyond Latin-1", value: `${key}\u2013x` },
  { kind: "baseUrl", what: "not http(s)", value: (origin) => origin.replace("http:", "ftp:") },
  { kind: "baseUrl", what: "not a URL", value: () => "127.0.0.1 port 80" },
  { kind: "baseUrl", what: "with credentials", value: (origin) => origin.replace("http://", "http://user:pw@") },
  { kind: "baseUrl", what: "with a path", value: (origin) => `${origin}/v0` },
  { kind: "baseUrl", what: "with a query", value: (origin) => `${origin}/?api_key=x` },
  { kind: "baseUrl", what: "with a fragment", value: (origin) => `${origin}/#top` },
  {
    kind: "options",
    what: "negative interval",
    field: "interval",
    value: { interval: -1 },
    flags: ["--interval", "-1s"]
  },
  { kind: "options", what: "zero interval", field: "interval", value: { interval: 0 }, flags: ["--interval", "0s"] },
  {
    kind: "options",
    what: "NaN interval",
    field: "interval",
    value: { interval: Number.NaN },
    flags: ["--interval", "NaN"]
  },
  {
    kind: "options",
    what: "interval that is not a duration",
    field: "interval",
    value: { interval: "soon" as Duration.DurationInput },
    flags: ["--interval", "soon"]
  },
  { kind: "options", what: "zero timeout", field: "timeout", value: { timeout: 0 }, flags: ["--timeout", "0s"] },
  { kind: "options", what: "negative timeout", field: "timeout", value: { timeout: -5 }, flags: ["--timeout", "-5s"] },
  {
    kind: "options",
    what: "timeout shorter than the interval",
    field: "timeout",
    value: { interval: "2 seconds", timeout: "1 second" },
    flags: ["--interval", "2s", "--timeout", "1s"]
  },
  { kind: "options", what: "retry budget of 0", field: "retry.budget", value: { retry: { budget: 0 } } },
  { kind: "options", what: "NaN retry base", field: "retry.base", value: { retry: { base: Number.NaN } } }
]

const validId = "20251110_151628"
const field = (row: Row) => row.kind === "options" ? row.field : row.kind

/** A failure's value, or a failure of the test when it succeeded or died. */
const failureOf = (
  exit: Exit.Exit<unknown, unknown>,
  what: string
): { _tag: string; field?: string; message: string } => {
  if (Exit.isSuccess(exit)) return assert.fail(`${what}: succeeded`)
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "None") return assert.fail(`${what}: died: ${Cause.pretty(exit.cause)}`)
  return failure.value as { _tag: string; field?: string; message: string }
}

const assertNothingSent = (what: string) => assert.deepStrictEqual(server.requests, [], `${what}: a request was sent`)

describe("bad input: the Effect API", () => {
  const Client = () => Layer.merge(clientLayer({ baseUrl: server.baseUrl, apiKey: key }), NodeContext.layer)

  for (const row of table) {
    it(`${row.kind}: ${row.what} -> InvalidInput (${field(row)})`, async () => {
      const programs: Array<
        readonly [string, Effect.Effect<unknown, unknown, QoeryClient.QoeryClient | NodeContext.NodeContext>]
      > = []
      switch (row.kind) {
        case "jobId":
          programs.push(
            ["watch", Stream.runDrain(JobWatcher.watch(row.value))],
            ["awaitCompletion", JobWatcher.awaitCompletion(row.value)],
            ["watchAll", Stream.runDrain(JobWatcher.watchAll([validId, row.value].slice(1)))],
            ["DatasetCsv.rows", Stream.runDrain(DatasetCsv.rows(row.value))],
            ["DatasetCsv.writeFile", DatasetCsv.writeFile(row.value, path.join(stateDir(), "x.csv"))]
          )
          break
        case "search":
          programs.push(["run", Stream.runDrain(JobWatcher.run(row.value))])
          break
        case "options":
          programs.push(
            ["watch", Stream.runDrain(JobWatcher.watch(validId, row.value))],
            ["awaitCompletion", JobWatcher.awaitCompletion(validId, row.value)],
            ["run", Stream.runDrain(JobWatcher.run("climate", row.value))],
            ["watchAll", Stream.runDrain(JobWatcher.watchAll([validId], row.value))]
          )
          break
        case "apiKey": {
          for (const [name, httpClient] of [["undici", undefined], ["fetch", FetchHttpClient.layer]] as const) {
            const exit = await Effect.runPromiseExit(
              Layer.build(clientLayer({ baseUrl: server.baseUrl, apiKey: row.value }, httpClient)).pipe(Effect.scoped)
            )
            const error = failureOf(exit, `layer over ${name}`)
            assert.strictEqual(error._tag, "InvalidInput", name)
            assert.strictEqual(error.field, "apiKey", name)
            for (const text of [error.message, String(error), JSON.stringify(error)]) {
              assert.notInclude(text, key, `${name}: the key is shown`)
            }
          }
          assertNothingSent(row.what)
          return
        }
        case "baseUrl": {
          const exit = await Effect.runPromiseExit(
            Layer.build(clientLayer({ baseUrl: row.value(server.baseUrl), apiKey: key })).pipe(Effect.scoped)
          )
          const error = failureOf(exit, "layer")
          assert.strictEqual(error._tag, "InvalidInput")
          assert.strictEqual(error.field, "baseUrl")
          assertNothingSent(row.what)
          return
        }
      }
      for (const [name, program] of programs) {
        const startedAt = Date.now()
        const exit = await Effect.runPromiseExit(Effect.provide(program, Client()))
        const error = failureOf(exit, name)
        assert.strictEqual(error._tag, "InvalidInput", `${name}: ${error.message}`)
        assert.strictEqual(error.field, field(row), name)
        assert.match(error.message, new RegExp(`^Invalid ${field(row).replace(".", "\\.")}: `))
        assert.isBelow(error.message.length, 400, `${name}: the message repeats the input`)
        assert.isBelow(Date.now() - startedAt, 5_000, `${name}: it waited before refusing`)
      }
      assertNothingSent(row.what)
    })
  }
})

describe("bad input: the Promise API", () => {
  for (const row of table) {
    it(`${row.kind}: ${row.what} -> QoeryApiError InvalidInput (${field(row)})`, async () => {
      if (row.kind === "baseUrl") {
        assert.throws(
          () => createClient({ apiKey: key, baseUrl: row.value(server.baseUrl) }),
          /Invalid baseUrl/
        )
        assertNothingSent(row.what)
        return
      }
      const qoery = createClient({ apiKey: row.kind === "apiKey" ? row.value : key, baseUrl: server.baseUrl })
      const drain = async (iterable: AsyncIterable<unknown>) => {
        for await (const _ of iterable) { /* drain */ }
      }
      const calls: Array<readonly [string, () => Promise<unknown>]> = row.kind === "jobId"
        ? [
          ["status", () => qoery.status(row.value)],
          ["watch", () => drain(qoery.watch(row.value))],
          ["waitFor", () => qoery.waitFor(row.value)],
          ["rows", () => drain(qoery.rows(row.value))]
        ]
        : row.kind === "search"
        ? [["startJob", () => qoery.startJob(row.value)]]
        : row.kind === "apiKey"
        ? [
          ["startJob", () => qoery.startJob("climate")],
          ["status", () => qoery.status(validId)],
          ["watch", () => drain(qoery.watch(validId))],
          ["rows", () => drain(qoery.rows(validId))]
        ]
        : [
          // The Promise API takes the same options, its onRetry a plain callback (none here).
          ["watch", () => drain(qoery.watch(validId, row.value as PromiseWatchOptions))],
          ["waitFor", () => qoery.waitFor(validId, row.value as PromiseWatchOptions)]
        ]
      try {
        for (const [name, call] of calls) {
          const error = await call().then(() => assert.fail(`${name}: resolved`), (e: unknown) => e)
          assert.instanceOf(error, Error, name)
          const e = error as Error & { tag?: string; field?: string }
          assert.strictEqual(e.tag, "InvalidInput", `${name}: ${e.message}`)
          assert.strictEqual(e.name, "InvalidInput")
          assert.strictEqual(e.field, field(row), name)
          assert.match(e.message, /^Invalid /)
          if (row.kind === "apiKey") {
            for (const text of [e.message, String(e), JSON.stringify(e), e.stack ?? ""]) {
              assert.notInclude(text, key, `${name}: the key is shown`)
            }
          }
        }
      } finally {
        await qoery.close()
      }
      assertNothingSent(row.what)
    })
  }
})

describe("bad input: the command exits 2 with a clear message", () => {
  const clear: Record<Row["kind"], RegExp> = {
    jobId: /invalid job id|job-id/i,
    search: /search/i,
    baseUrl: /baseUrl|base-url|origin|URL/,
    apiKey: /API key/,
    options: /interval|timeout/i
  }
  for (const row of table) {
    if (row.kind === "options" && row.flags === undefined) continue
    it(`${row.kind}: ${row.what}`, async () => {
      const connect = ["--base-url", server.baseUrl, "--api-key", key]
      const commands: ReadonlyArray<ReadonlyArray<string>> = row.kind === "jobId"
        ? [["status", row.value, ...connect], ["watch", row.value, ...connect], ["csv", row.value, ...connect]]
        : row.kind === "search"
        ? [["run", row.value, ...connect]]
        : row.kind === "apiKey"
        ? [["status", validId, "--base-url", server.baseUrl, "--api-key", row.value], [
          "run",
          "climate",
          "--base-url",
          server.baseUrl,
          "--api-key",
          row.value
        ]]
        : row.kind === "baseUrl"
        ? [["status", validId, "--base-url", row.value(server.baseUrl), "--api-key", key], [
          "run",
          "climate",
          "--base-url",
          row.value(server.baseUrl),
          "--api-key",
          key
        ]]
        : [["watch", validId, ...row.flags!, ...connect], ["run", "climate", ...row.flags!, ...connect]]
      for (const args of commands) {
        const state = stateDir()
        const result = await runCli(args, { QOERY_STATE_DIR: state })
        const shown = `qoery ${args[0]} (${row.what}): ${result.stderr}`
        assert.strictEqual(result.code, 2, shown)
        assert.match(result.stderr, clear[row.kind], shown)
        assert.notMatch(
          result.stderr,
          /at .*\.ts:\d+|FiberFailure|\[object Object\]/,
          `a stack or raw object: ${shown}`
        )
        assert.isBelow(result.stderr.length, 2_000, `the message repeats the input: ${shown.slice(0, 300)}`)
        assert.strictEqual(result.stdout, "", shown)
        if (row.kind === "apiKey") assert.notInclude(result.stderr, key, `the key is shown: ${shown}`)
      }
      assertNothingSent(row.what)
    })
  }
})

// ---------------------------------------------------------------------------

describe("hostile requests to the emulator", () => {
  it("job ids that are not ids, in the path, get the spec's 404 body; a huge query string is refused; it keeps serving", async () => {
    const { dispose, emulator } = await serve({ apiKeys: [key], jobDuration: "200 millis" })
    const headers = { "x-api-key": key }
    try {
      for (
        const id of [
          "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
          "..%5c..%5cwindows",
          encodeURIComponent("２０２５１１１０_１５１６２８"),
          "2".repeat(10 * 1024),
          "20251110_151628%00",
          "%"
        ]
      ) {
        for (const suffix of ["", "/csv"]) {
          const response = await fetch(`${emulator.baseUrl}/v0/datasets/${id}${suffix}`, { headers })
          assert.include([400, 404], response.status, id.slice(0, 40))
          const body = await response.json() as { error?: unknown; status?: unknown }
          assert.isString(body.error)
          assert.strictEqual(body.status, response.status)
        }
      }
      // 100 KB of search in the query string: refused (by node: 431), never a crash.
      const long = await fetch(`${emulator.baseUrl}/v0/datasets?search=${"x".repeat(100_000)}`, { headers })
      assert.isAtLeast(long.status, 400)
      assert.isBelow(long.status, 500)
      await long.arrayBuffer()
      // Search values the spec refuses: 400 with its error body.
      for (const search of ["", "   "]) {
        const response = await fetch(`${emulator.baseUrl}/v0/datasets`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({ search })
        })
        assert.strictEqual(response.status, 400)
        assert.strictEqual(((await response.json()) as { status: number }).status, 400)
      }
      for (const body of ["[]", "null", "42", "{\"search\": 42}", "{\"search\": {\"$gt\": \"\"}}"]) {
        const response = await fetch(`${emulator.baseUrl}/v0/datasets`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body
        })
        assert.strictEqual(response.status, 400, body)
        await response.arrayBuffer()
      }
      // Still serving: a job runs to the end.
      const started = await (await fetch(`${emulator.baseUrl}/v0/datasets?search=still%20here`, { headers }))
        .json() as {
          job_id: string
        }
      await new Promise((resolve) => setTimeout(resolve, 300))
      const status = await (await fetch(`${emulator.baseUrl}/v0/datasets/${started.job_id}`, { headers })).json() as {
        status: string
      }
      assert.strictEqual(status.status, "completed")
    } finally {
      await dispose()
    }
  })
})

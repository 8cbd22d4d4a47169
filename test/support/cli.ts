/**
 * Runs the `qoery` command as a user does: a child process from the
 * repository root, on the package sources, with its own state folder; or in
 * this process (`runInProcess`), with its output streams and environment
 * provided as services.
 */
import { Cli } from "@effect-qoery/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { ConfigProvider, Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import * as path from "node:path"
import { tempDir } from "./tmp.js"

export const root = path.resolve(import.meta.dirname, "..", "..")
export const bin = "packages/cli/src/bin.ts"
export const nodeArgs = ["--conditions=source", "--import", "tsx", bin]

export interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** A fresh state folder for the journal. */
export const stateDir = (): string => tempDir("state")

/** What the command in this process wrote, and its exit code. */
export interface InProcessResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** A stream that keeps what is written to it. */
const capture = (options: { readonly isTTY?: boolean; readonly columns?: number } = {}) => {
  let text = ""
  const stream: Cli.Stdio.Writable = {
    write(chunk, callback) {
      text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString()
      callback()
      return true
    },
    once: () => undefined,
    ...options
  }
  return { stream, text: () => text }
}

let inProcess = false

/**
 * Runs `qoery <args>` in this process (`Cli.main`, as the bin does) with
 * `env` as its whole environment (a `ConfigProvider`) and its stdout and
 * stderr captured (a `Stdio` service). Nothing of `process` is patched; one
 * command at a time all the same, as the tests that use it expect.
 */
export const runInProcess = async (
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined> = {},
  /** Whether stdout and stderr are terminals, and how wide. */
  terminal: { readonly isTTY?: boolean; readonly columns?: number } = {}
): Promise<InProcessResult> => {
  if (inProcess) throw new Error("runInProcess: one command at a time")
  inProcess = true
  const stdout = capture(terminal)
  const stderr = capture(terminal)
  const vars = new Map(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))
  try {
    const code = await Effect.runPromise(
      Cli.main(["node", "qoery", ...args]).pipe(
        Effect.provide(Layer.merge(
          NodeContext.layer,
          Layer.effect(Cli.Stdio.Stdio, Cli.Stdio.make({ stdout: stdout.stream, stderr: stderr.stream }))
        )),
        Effect.withConfigProvider(ConfigProvider.fromMap(vars))
      )
    )
    return { code, stdout: stdout.text(), stderr: stderr.text() }
  } finally {
    inProcess = false
  }
}

/** The environment of a child: none of the caller's QOERY_* variables, plus `env`. */
export const childEnv = (env: Record<string, string | undefined>): NodeJS.ProcessEnv => {
  const clean: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("QOERY_") && key !== "FORCE_COLOR") clean[key] = value
  }
  for (const [key, value] of Object.entries(env)) if (value !== undefined) clean[key] = value
  return clean
}

export interface Child {
  readonly pid: number
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves once stderr contains the text. */
  readonly waitForStderr: (text: string | RegExp) => Promise<string>
  readonly done: Promise<Result>
  readonly kill: (signal: NodeJS.Signals) => void
}

/** Starts `qoery <args>`; `closeStdout`: the reader of its stdout goes away at once (`qoery ... | head -0`). */
export const start = (
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined> = {},
  options: { readonly closeStdout?: boolean } = {}
): Child => {
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: root, env: childEnv(env) })
  if (options.closeStdout === true) child.stdout.destroy()
  let stdout = ""
  let stderr = ""
  const waiters: Array<() => void> = []
  child.stdout.setEncoding("utf8").on("data", (s: string) => stdout += s)
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    stderr += s
    for (const w of [...waiters]) w()
  })
  const done = new Promise<Result>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  )
  return {
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    kill: (signal) => child.kill(signal),
    waitForStderr: (text) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = typeof text === "string" ? stderr.includes(text) : text.test(stderr)
          if (match) {
            waiters.splice(waiters.indexOf(check), 1)
            resolve(stderr)
          }
        }
        waiters.push(check)
        check()
        done.then(() => {
          if (waiters.includes(check)) reject(new Error(`qoery ended before printing ${String(text)}:\n${stderr}`))
        })
      })
  }
}

/** Runs `qoery <args>` to its end. */
export const run = (args: ReadonlyArray<string>, env: Record<string, string | undefined> = {}): Promise<Result> =>
  start(args, env).done

/** Runs each command in turn (the machine may be small: one child at a time). */
export const runAll = async (
  commands: ReadonlyArray<ReadonlyArray<string>>,
  env: Record<string, string | undefined> = {}
): Promise<Array<Result>> => {
  const results: Array<Result> = []
  for (const args of commands) results.push(await run(args, env))
  return results
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** Runs `qoery <args>` under a pseudo-terminal (`script`), giving what the terminal received. */
export const runInTerminal = (
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined> = {}
): Promise<Result> => {
  const command = [process.execPath, ...nodeArgs, ...args].map(quote).join(" ")
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    cwd: root,
    env: childEnv({ TERM: "xterm-256color", ...env })
  })
  let stdout = ""
  child.stdout.setEncoding("utf8").on("data", (s: string) => stdout += s)
  child.stderr.setEncoding("utf8").on("data", (s: string) => stdout += s)
  return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr: "" })))
}

/**
 * The help as a user reads it: `qoery --help | cat`, `NO_COLOR=1 qoery run
 * --help`, a mistyped command. In this process, with stdout provided.
 */
import { assert, describe, it } from "@effect/vitest"
import { runInProcess } from "../../../test/support/cli.js"

const commands = ["run", "watch", "status", "csv", "usage", "plans", "health", "emulator", "resume"]

const filler = [
  "A user-defined piece of text",
  "A file.",
  "A true or false value",
  "An integer",
  "This setting is optional",
  "This option can be set from environment variables",
  "--wizard",
  "--log-level",
  "$ "
]

describe("help", { timeout: 60_000 }, () => {
  it("on a pipe: plain text that starts with `qoery`, with every command and no filler", async () => {
    const result = await runInProcess(["--help"])
    assert.strictEqual(result.code, 0)
    assert.match(result.stdout, /^qoery /)
    assert.notInclude(result.stdout, "\x1b[")
    for (const c of commands) assert.match(result.stdout, new RegExp(`^  ${c}\\b`, "m"), c)
    for (const f of filler) assert.notInclude(result.stdout, f)
  })

  it("of each command: `qoery <command> ...` usage, our descriptions only, an example", async () => {
    for (const c of commands) {
      const result = await runInProcess([c, "--help"])
      assert.strictEqual(result.code, 0, c)
      assert.match(result.stdout, new RegExp(`^qoery ${c}\\b`), c)
      assert.match(result.stdout, new RegExp(`Example: qoery ${c}`), c)
      for (const f of filler) assert.notInclude(result.stdout, f, c)
    }
    const run = await runInProcess(["run", "--help"])
    assert.match(run.stdout, /^qoery run <search> \[--out FILE\]/)
    assert.match(run.stdout, /--interval DURATION +Time between two polls/)
  })

  it("a required flag is in the usage line, with its value, before the optional ones", async () => {
    const batchRun = await runInProcess(["batch", "run", "--help"])
    assert.match(batchRun.stdout, /^qoery batch run <search> --out DIR \[--from FILE\]/)
    const worker = await runInProcess(["batch", "worker", "--help"])
    assert.match(worker.stdout, /^qoery batch worker --out DIR \[/)
  })

  it("NO_COLOR on a terminal: plain; without it, a terminal gets bold headings", async () => {
    const plain = await runInProcess(["run", "--help"], { NO_COLOR: "1" }, { isTTY: true, columns: 100 })
    assert.match(plain.stdout, /^qoery run /)
    assert.notInclude(plain.stdout, "\x1b[")
    const dumb = await runInProcess(["run", "--help"], { TERM: "dumb" }, { isTTY: true, columns: 100 })
    assert.notInclude(dumb.stdout, "\x1b[")
    const color = await runInProcess(["run", "--help"], {}, { isTTY: true, columns: 100 })
    assert.include(color.stdout, "\x1b[1mOptions:")
  })

  it("a mistyped command: did you mean, exit 2", async () => {
    const result = await runInProcess(["rnu", "x"])
    assert.strictEqual(result.code, 2)
    assert.include(result.stderr, "Did you mean `qoery run`?")
    const far = await runInProcess(["frobnicate"])
    assert.strictEqual(far.code, 2)
    assert.include(far.stderr, "The commands are run, watch")
  })

  it("a command with subcommands: its own help, its subcommands' help, a did-you-mean among them", async () => {
    const batch = await runInProcess(["batch", "--help"])
    assert.strictEqual(batch.code, 0)
    assert.match(batch.stdout, /^qoery batch <command>/)
    assert.match(batch.stdout, /^ {2}run\b/m)
    const run = await runInProcess(["batch", "run", "--help"])
    assert.strictEqual(run.code, 0)
    assert.match(run.stdout, /^qoery batch run /)
    for (const f of filler) assert.notInclude(run.stdout, f)
    const typo = await runInProcess(["batch", "rnu"])
    assert.strictEqual(typo.code, 2)
    assert.include(typo.stderr, "Did you mean `qoery batch run`?")
  })

  it("--wizard is not a flag of qoery", async () => {
    const result = await runInProcess(["run", "x", "--wizard"])
    assert.strictEqual(result.code, 2)
    assert.match(result.stderr, /unknown flag --wizard/)
  })

  it("--version", async () => {
    const result = await runInProcess(["--version"])
    assert.strictEqual(result.code, 0)
    assert.strictEqual(result.stdout.trim(), "0.1.0")
  })
})

/**
 * The emulator in a child process, so that what the bench measures in this
 * process is the client alone. Like the client, it runs as built (`dist`),
 * as users get it: `pnpm bench` builds first.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import * as readline from "node:readline"

export const apiKey = "bench-key"
const root = path.resolve(import.meta.dirname, "../..")

export interface EmulatorProcess {
  readonly baseUrl: string
  readonly pid: number
  readonly stats: () => Promise<{ requests: Record<string, number>; statusRequestsAfterTerminal: number }>
  readonly stop: () => Promise<void>
}

export const startEmulator = async (options: {
  readonly jobDuration: string
  readonly pollingInterval?: string
}): Promise<EmulatorProcess> => {
  const child = spawn(process.execPath, [
    "packages/emulator/dist/bin.js",
    "--port",
    "0",
    "--quiet",
    "--admin",
    "--quota",
    "1000000000",
    "--api-key",
    apiKey,
    "--job-duration",
    options.jobDuration,
    "--polling-interval",
    options.pollingInterval ?? "1s"
  ], { cwd: root, stdio: ["ignore", "pipe", "inherit"] })
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout })
    lines.once("line", (line) => resolve(line.trim()))
    child.once("exit", (code) => reject(new Error(`the emulator exited with ${code}`)))
  })
  return {
    baseUrl,
    pid: child.pid!,
    stats: async () => {
      const response = await fetch(`${baseUrl}/__admin/stats`)
      return response.json() as any
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve())
        child.kill("SIGTERM")
      })
  }
}

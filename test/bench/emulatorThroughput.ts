/** Status requests per second the emulator (one process, so one core) serves. */
import * as http from "node:http"
import { apiKey, startEmulator } from "./emulatorProcess.js"

export const runEmulatorBench = async ({ quick }: { readonly quick: boolean }): Promise<{ reqPerSec: number }> => {
  const emulator = await startEmulator({ jobDuration: "1h" })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 })
  try {
    const started = await fetch(`${emulator.baseUrl}/v0/datasets`, {
      method: "POST",
      headers: { "x-api-key": apiKey, "content-type": "application/json" },
      body: JSON.stringify({ search: "bench emulator" })
    }).then((r) => r.json() as Promise<{ job_id: string }>)
    const url = `${emulator.baseUrl}/v0/datasets/${started.job_id}`
    const get = () =>
      new Promise<void>((resolve, reject) => {
        http.get(url, { agent, headers: { "x-api-key": apiKey } }, (res) => {
          res.resume()
          res.on("end", () => resolve())
        }).on("error", reject)
      })
    const seconds = quick ? 1 : 5
    let done = 0
    const until = performance.now() + 300
    const warm = async () => {
      while (performance.now() < until) await get()
    }
    await Promise.all(Array.from({ length: 32 }, warm))
    const start = performance.now()
    const end = start + seconds * 1000
    const worker = async () => {
      while (performance.now() < end) {
        await get()
        done++
      }
    }
    await Promise.all(Array.from({ length: 32 }, worker))
    return { reqPerSec: done / ((performance.now() - start) / 1000) }
  } finally {
    agent.destroy()
    await emulator.stop()
  }
}

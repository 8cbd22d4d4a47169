/**
 * The Promise API against the emulator on loopback: iteration to the end,
 * abort, and each error as an `Error` subclass with its fields.
 */
import {
  ClientClosedError,
  createClient,
  JobFailedError,
  QoeryApiError,
  WatchTimeoutError
} from "@effect-qoery/client/promise"
import { Emulator, Faults } from "@effect-qoery/emulator"
import { ManagedRuntime } from "effect"
import * as childProcess from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const key = "promise-secret-key-41c2"

let emulator: Emulator.Service
const runtime = ManagedRuntime.make(
  Emulator.layer({ port: 0, apiKeys: [key], jobDuration: "600 millis", pollingInterval: "50 millis" })
)

beforeAll(async () => {
  emulator = await runtime.runPromise(Emulator.Emulator)
})

afterAll(() => runtime.dispose())

const client = (apiKey = key) => createClient({ apiKey, baseUrl: emulator.baseUrl })

const statusRequests = async () => (await runtime.runPromise(emulator.stats)).requests.status

/** Rejects with what the promise rejected with. */
const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a rejection")
}

describe("createClient", () => {
  it("starts a job, iterates its statuses to the end, waits for it and streams its typed rows", async () => {
    const qoery = client()
    try {
      const started = await qoery.startJob("sea level rise")
      expect(started.jobId).toMatch(/^\d{8}_\d{6}$/)
      const statuses = []
      for await (const status of qoery.watch(started.jobId, { interval: "50 millis" })) statuses.push(status)
      expect(statuses.length).toBeGreaterThan(1)
      expect(statuses.at(-1)!.status).toBe("completed")
      expect(statuses.slice(0, -1).every((s) => s.status === "processing")).toBe(true)

      const completed = await qoery.waitFor(started.jobId)
      expect(completed.progress.rowsCollected).toBeGreaterThan(0)
      expect((await qoery.status(started.jobId)).status).toBe("completed")

      const rows = []
      for await (const row of qoery.rows(started.jobId)) rows.push(row)
      expect(rows).toHaveLength(completed.progress.rowsCollected)
      expect(rows[0]).toMatchObject({ url: expect.any(String), title: expect.any(String) })
      expect(Object.keys(rows[0])).toEqual(expect.arrayContaining(["url", "title", "value", "dimension", "timestamp"]))
    } finally {
      await qoery.close()
    }
  })

  it("breaking out of for-await stops the polling", async () => {
    const qoery = client()
    try {
      const { jobId } = await qoery.startJob("break early")
      for await (const _ of qoery.watch(jobId, { interval: "20 millis", emit: "every" })) break
      const after = await statusRequests()
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(await statusRequests()).toBe(after)
    } finally {
      await qoery.close()
    }
  })

  it("aborting stops the polling at once and rejects with the signal's reason", async () => {
    const qoery = client()
    try {
      const { jobId } = await qoery.startJob("abort me")
      const controller = new AbortController()
      const seen: Array<string> = []
      const error = await rejection((async () => {
        for await (
          const status of qoery.watch(jobId, { signal: controller.signal, interval: "20 millis", emit: "every" })
        ) {
          seen.push(status.status)
          if (seen.length === 2) controller.abort()
        }
      })())
      expect(error).toBe(controller.signal.reason)
      expect((error as Error).name).toBe("AbortError")
      expect(seen).toHaveLength(2)
      const after = await statusRequests()
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(await statusRequests()).toBe(after)

      const waiting = new AbortController()
      const pending = qoery.waitFor(jobId, { signal: waiting.signal, interval: "20 millis" })
      waiting.abort(new Error("user gave up"))
      expect(((await rejection(pending)) as Error).message).toBe("user gave up")

      const already = AbortSignal.abort()
      expect(await rejection(qoery.status(jobId, { signal: already }))).toBe(already.reason)
    } finally {
      await qoery.close()
    }
  })
})

describe("collect", () => {
  it("starts, waits and gives the completed status with its rows, telling onStatus of each change", async () => {
    const qoery = client()
    try {
      const seen: Array<string> = []
      const { rows, status } = await qoery.collect("sea surface temperature", {
        interval: "20 millis",
        onStatus: (s) => seen.push(s.status)
      })
      expect(status.status).toBe("completed")
      expect(status.completedAt).toBeInstanceOf(Date)
      expect(status.progress.lastUpdated).toBeInstanceOf(Date)
      expect(rows).toHaveLength(status.progress.rowsCollected)
      expect(rows[0]).toMatchObject({ url: expect.any(String), title: expect.any(String) })
      expect(seen.at(-1)).toBe("completed")
      expect(seen.slice(0, -1).every((s) => s === "processing")).toBe(true)

      const big = await qoery.collect("sea surface temperature again", { interval: "20 millis", rows: "iterable" })
      let count = 0
      for await (const _ of big.rows) count++
      expect(count).toBe(big.status.progress.rowsCollected)

      const failed = await rejection(qoery.collect("this will fail", { interval: "20 millis" }))
      expect(failed).toBeInstanceOf(JobFailedError)

      const controller = new AbortController()
      const pending = qoery.collect("given up", { interval: "20 millis", signal: controller.signal })
      controller.abort(new Error("stop"))
      expect(((await rejection(pending)) as Error).message).toBe("stop")
    } finally {
      await qoery.close()
    }
  })
})

describe("close", () => {
  it("ends every call and iterator in flight with ClientClosedError, stops polling, and later calls reject", async () => {
    const qoery = client()
    const { jobId } = await qoery.startJob("closing time")
    const slow = await qoery.startJob("closing time, slowly")
    let received = 0
    const watching = (async () => {
      for await (const _ of qoery.watch(jobId, { interval: "20 millis", emit: "every" })) {
        if (++received === 2) void qoery.close()
      }
    })()
    // A job of 600 ms: still waited for when close() comes, after two statuses of the other.
    const waiting = qoery.waitFor(slow.jobId, { interval: "20 millis" })
    const [watchError, waitError] = await Promise.all([rejection(watching), rejection(waiting)])
    for (const error of [watchError, waitError]) {
      expect(error).toBeInstanceOf(ClientClosedError)
      expect(error).toBeInstanceOf(Error)
      expect(error).toMatchObject({ name: "ClientClosed", tag: "ClientClosed" })
    }
    const after = await statusRequests()
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await statusRequests()).toBe(after)
    for (
      const later of [
        qoery.status(jobId),
        qoery.startJob("too late"),
        (async () => {
          for await (const _ of qoery.rows(jobId)) { /* nothing */ }
        })()
      ]
    ) {
      expect(await rejection(later)).toBeInstanceOf(ClientClosedError)
    }
  })

  it("a script that closes the client while it watches a job exits by itself", async () => {
    const script = `
      import { createClient } from "@effect-qoery/client/promise"
      const qoery = createClient({ apiKey: ${JSON.stringify(key)}, baseUrl: ${JSON.stringify(emulator.baseUrl)} })
      const { jobId } = await qoery.startJob("close and exit")
      let n = 0
      try {
        for await (const _ of qoery.watch(jobId, { interval: "20 millis", emit: "every" })) {
          if (++n === 2) setTimeout(() => qoery.close(), 10)
        }
      } catch (error) {
        console.log(error.name)
      }
    `
    const child = childProcess.spawn(
      process.execPath,
      ["--conditions=source", "--import", "tsx", "--input-type=module", "-e", script],
      { cwd: import.meta.dirname, stdio: ["ignore", "pipe", "pipe"] }
    )
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => stdout += d)
    child.stderr.on("data", (d) => stderr += d)
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
    expect(stderr).toBe("")
    expect(code).toBe(0)
    expect(stdout.trim()).toBe("ClientClosed")
  }, 60_000)
})

describe("errors", () => {
  it("are Error subclasses named by their tag, with their fields, and never the key", async () => {
    const wrong = client("not-a-valid-key-9d8e")
    const unauthorized = await rejection(wrong.startJob("x"))
    await wrong.close()
    expect(unauthorized).toBeInstanceOf(QoeryApiError)
    expect(unauthorized).toBeInstanceOf(Error)
    expect(unauthorized).toMatchObject({
      name: "Unauthorized",
      tag: "Unauthorized",
      status: 401,
      error: "Invalid API key"
    })
    const text = `${String(unauthorized)} ${JSON.stringify(unauthorized)} ${(unauthorized as Error).stack}`
    expect(text).not.toContain("not-a-valid-key-9d8e")

    const qoery = client()
    try {
      expect(await rejection(qoery.status("20240101_000000"))).toMatchObject({
        name: "JobNotFound",
        tag: "JobNotFound",
        status: 404,
        jobId: "20240101_000000"
      })
      expect(await rejection(qoery.status("not-an-id"))).toMatchObject({
        name: "InvalidInput",
        field: "jobId"
      })
      expect(await rejection(qoery.startJob("   "))).toMatchObject({ name: "InvalidInput", field: "search" })

      const { jobId } = await qoery.startJob("server trouble")
      await runtime.runPromise(emulator.setFaults("status", Faults.times({ kind: "status", status: 501 })))
      const server = await rejection(qoery.status(jobId))
      expect(server).toMatchObject({ name: "ServerError", tag: "ServerError", status: 501 })
      await runtime.runPromise(emulator.setFaults("status", Faults.times({ kind: "status", status: 429 })))
      const quota = await rejection(qoery.status(jobId))
      expect(quota).toMatchObject({ tag: "QuotaExceeded", status: 429 })
      await runtime.runPromise(
        emulator.setFaults("status", Faults.times({ kind: "status", status: 429, retryAfter: 7 }))
      )
      const limited = await rejection(qoery.status(jobId))
      expect(limited).toMatchObject({ tag: "RateLimited", status: 429, retryAfter: 7_000 })
      // The tag narrows the type to the variant's own fields.
      const error = limited as QoeryApiError
      if (error.tag === "RateLimited") expect(error.retryAfter).toBe(7_000)
      else expect.unreachable(`expected RateLimited, got ${error.tag}`)
      await runtime.runPromise(emulator.clearFaults)

      const failed = await rejection(qoery.waitFor((await qoery.startJob("this will fail")).jobId))
      expect(failed).toBeInstanceOf(JobFailedError)
      expect(failed).toMatchObject({ name: "JobFailed", tag: "JobFailed" })
      expect((failed as JobFailedError).status.status).toBe("error")
      expect((failed as JobFailedError).status.error.length).toBeGreaterThan(0)
      // One rule for dates, in statuses and in errors: a Date.
      expect((failed as JobFailedError).status.startedAt).toBeInstanceOf(Date)
      expect((failed as JobFailedError).status.progress.lastUpdated).toBeInstanceOf(Date)

      const slow = await qoery.startJob("too slow")
      const timeout = await rejection(qoery.waitFor(slow.jobId, { timeout: "100 millis", interval: "20 millis" }))
      expect(timeout).toBeInstanceOf(WatchTimeoutError)
      expect(timeout).toMatchObject({ name: "WatchTimeout", jobId: slow.jobId })
      expect(typeof (timeout as WatchTimeoutError).elapsed).toBe("number")
      expect((timeout as WatchTimeoutError).lastStatus?.startedAt).toBeInstanceOf(Date)
    } finally {
      await runtime.runPromise(emulator.clearFaults)
      await qoery.close()
    }
    expect(() => createClient({ baseUrl: "ftp://example.com" })).toThrow(QoeryApiError)
  })
})

describe("allowInsecureKey", () => {
  // 0.0.0.0 is not a loopback name, yet a connection to it stays on this machine.
  const insecure = () => emulator.baseUrl.replace("127.0.0.1", "0.0.0.0")

  it("the key is refused over plain http to a host that is not loopback, before any request", async () => {
    const before = await statusRequests()
    const error = await rejection(createClient({ apiKey: key, baseUrl: insecure() }).status("20251110_151628"))
    expect(error).toBeInstanceOf(QoeryApiError)
    expect((error as QoeryApiError).name).toBe("InvalidInput")
    expect(String(error)).toMatch(/plain http/)
    expect(await statusRequests()).toBe(before)
  })

  it("a script can opt in", async () => {
    const qoery = createClient({ apiKey: key, baseUrl: insecure(), allowInsecureKey: true })
    try {
      const { jobId } = await qoery.startJob("insecure on purpose")
      expect((await qoery.status(jobId)).jobId).toBe(jobId)
    } finally {
      await qoery.close()
    }
  })
})

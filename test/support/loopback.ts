/**
 * Requests over loopback with the platform's fetch, for the tests of the
 * emulator: the answer as text, or the transport failure.
 */
import { Emulator } from "@effect-qoery/emulator"
import { assert } from "@effect/vitest"
import { parse as parseCsv } from "csv-parse/sync"
import { Effect, Either } from "effect"

export const key = Emulator.demoApiKey

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

export const call = (url: string, init: RequestInit = {}): Effect.Effect<Answer> =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

/** A request that may fail at the transport level (dropped, cut short). */
export const attempt = (url: string, init: RequestInit = {}): Effect.Effect<Either.Either<Answer, unknown>> =>
  Effect.promise(async () => {
    try {
      const response = await fetch(url, init)
      return Either.right({ status: response.status, headers: response.headers, text: await response.text() })
    } catch (e) {
      return Either.left(e)
    }
  })

export const json = (answer: Answer): any => JSON.parse(answer.text)

/** Starts a job with `POST /v0/datasets` and the demo key; its id. */
export const startJob = (baseUrl: string, search: string) =>
  Effect.map(
    call(`${baseUrl}/v0/datasets`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: JSON.stringify({ search })
    }),
    (answer) => {
      assert.strictEqual(answer.status, 200, answer.text)
      return json(answer).job_id as string
    }
  )

/** The records of a CSV, read by a standard parser that rejects ragged rows. */
export const records = (csv: string): Array<Array<string>> => parseCsv(csv, { relax_column_count: false }) as any

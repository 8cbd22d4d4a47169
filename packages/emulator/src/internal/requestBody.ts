import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Http from "node:http"
import { maxBodyBytes } from "./config.js"

/** Whether a `Content-Type` names JSON; none at all counts as JSON, as the service reads it. */
export const isJsonType = (contentType: string | undefined) => {
  if (contentType === undefined || contentType === "") return true
  const type = contentType.split(";")[0]!.trim().toLowerCase()
  return type === "application/json" || type.endsWith("+json")
}

/**
 * The body as text, or `Left` when it is larger than `maxBodyBytes` (or broke
 * off). On node the body is read from the socket directly, so that a body too
 * large stops being stored without destroying the connection: the rest is
 * drained unread and the 413 goes out.
 */
export const readBody = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Either.Either<string, void>> => {
  let incoming: Http.IncomingMessage | undefined
  try {
    incoming = NodeHttpServerRequest.toIncomingMessage(request)
  } catch {
    incoming = undefined
  }
  if (incoming === undefined || typeof incoming.on !== "function") {
    return request.text.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(maxBodyBytes)),
      Effect.map((text) => Either.right(text)),
      Effect.orElseSucceed(() => Either.left(undefined))
    )
  }
  const source = incoming
  return Effect.async<Either.Either<string, void>>((resume) => {
    if (source.readableEnded) return resume(Effect.succeed(Either.right("")))
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
      source.off("aborted", onError)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBodyBytes) {
        cleanup()
        // Let the rest flow away unread (as node does for a body nobody reads), and answer now.
        source.resume()
        resume(Effect.succeed(Either.left(undefined)))
      } else {
        chunks.push(chunk)
      }
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(Either.right(Buffer.concat(chunks).toString("utf8"))))
    }
    const onError = () => {
      cleanup()
      resume(Effect.succeed(Either.left(undefined)))
    }
    source.on("data", onData)
    source.on("end", onEnd)
    source.on("error", onError)
    source.on("aborted", onError)
    return Effect.sync(cleanup)
  })
}

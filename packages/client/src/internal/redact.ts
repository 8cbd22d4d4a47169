import * as Redacted from "effect/Redacted"

/** What stands where the key stood. */
export const placeholder = "<redacted>"

/** A text with every occurrence of the client's own API key replaced by `<redacted>`; the same string when none. */
export type Redact = (text: string) => string

/** For a client without a key: nothing to hide. */
export const none: Redact = (text) => text

/**
 * The redaction of text a server sent (an error body, a status's `error`):
 * a server that echoes the `x-api-key` header must not put the key into an
 * error or a value. The key as sent (an HTTP stack trims the header value) and
 * as a JSON string escapes it; a text without it costs one `includes`.
 */
export const fromKey = (apiKey: Redacted.Redacted | undefined): Redact => {
  const needle = apiKey === undefined ? "" : Redacted.value(apiKey).trim()
  if (needle === "") return none
  const escaped = JSON.stringify(needle).slice(1, -1)
  if (escaped === needle) {
    return (text) => text.includes(needle) ? text.replaceAll(needle, placeholder) : text
  }
  return (text) =>
    text.includes(needle) || text.includes(escaped)
      ? text.replaceAll(needle, placeholder).replaceAll(escaped, placeholder)
      : text
}

/**
 * As `fromKey`, whatever the case of the letters: for the client's own
 * messages about its options, where a URL parser may have lowercased a host
 * or a scheme that holds the key. Not for the poll path.
 */
export const ignoringCase = (apiKey: Redacted.Redacted | undefined): Redact => {
  const needle = apiKey === undefined ? "" : Redacted.value(apiKey).trim()
  if (needle === "") return none
  const pattern = new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi")
  const exact = fromKey(apiKey)
  return (text) => exact(text).replace(pattern, placeholder)
}

/** A JSON value with `redact` applied to each of its strings, keys included (to decode again for an error). */
export const json = (redact: Redact) => {
  const go = (value: unknown): unknown => {
    if (typeof value === "string") return redact(value)
    if (Array.isArray(value)) return value.map(go)
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) out[redact(k)] = go(v)
      return out
    }
    return value
  }
  return go
}

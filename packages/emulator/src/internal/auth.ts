// Who a request is from: the API key, wherever the spec lets the client put it.

const bearer = /^Bearer\s+(.+)$/i

/** The key of a request: query `api_key`, then `x-api-key`, then `Authorization: Bearer`. */
export const apiKeyOf = (
  params: URLSearchParams,
  headers: Record<string, string | undefined>
): string | undefined => {
  const fromQuery = params.get("api_key")
  if (fromQuery !== null && fromQuery !== "") return fromQuery
  const fromHeader = headers["x-api-key"]
  if (fromHeader !== undefined && fromHeader !== "") return fromHeader
  const auth = headers["authorization"]
  const match = auth === undefined ? null : bearer.exec(auth.trim())
  return match === null ? undefined : match[1]!.trim()
}

/** The `user_id` of a key (FNV-1a of it): stable, and never the key itself. */
export const userIdOf = (key: string) => {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return `user_${(h >>> 0).toString(16).padStart(8, "0")}`
}

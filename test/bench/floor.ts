/**
 * The floor of a poll in Node: `node:http` over one keep-alive socket and
 * `JSON.parse`, nothing else. Every poll figure of the bench is a ratio to it.
 */
import * as http from "node:http"
import { apiKey } from "./emulatorProcess.js"

export const floorPoller = (url: string) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const poll = () =>
    new Promise<void>((resolve, reject) => {
      http.get(url, { agent, headers: { "x-api-key": apiKey, accept: "application/json" } }, (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk) => text += chunk)
        res.on("end", () => {
          JSON.parse(text)
          resolve()
        })
      }).on("error", reject)
    })
  return { poll, close: () => agent.destroy() }
}

#!/usr/bin/env node
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { ExitCode, main, Stdio } from "./Cli.js"

main(process.argv).pipe(
  Effect.provide(Layer.merge(NodeContext.layer, Stdio.layerNode)),
  NodeRuntime.runMain({
    disableErrorReporting: false,
    teardown: (exit, onExit) => {
      const code = Exit.isSuccess(exit)
        ? typeof exit.value === "number" ? exit.value : ExitCode.Ok
        : Cause.isInterruptedOnly(exit.cause)
        ? ExitCode.Interrupted
        : 1
      process.exitCode = code
      onExit(code)
    }
  })
)

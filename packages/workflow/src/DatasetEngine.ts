/**
 * The engines a `DatasetWorkflow` runs on, as layers: in memory (tests and
 * one-off programs), durable in one process on a SQLite file, and spread
 * over many processes on Postgres, where the workflows of a process that dies
 * are taken over by the others.
 *
 * @since 0.1.0
 */
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import type * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import type { ConfigError } from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/**
 * An engine that keeps everything in memory: workflows are durable within
 * the process only. For tests and one-off programs.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<WorkflowEngine.WorkflowEngine> = WorkflowEngine.layerMemory

/**
 * The sharding configuration both durable engines start from. It is given in
 * full, so nothing is read from the environment (`@effect/cluster`'s own
 * `layerFromEnv` reads `HOST` and `PORT`).
 */
const baseConfig = (options: Partial<ShardingConfig.ShardingConfig["Type"]>) =>
  ShardingConfig.layer({ entityMessagePollInterval: Duration.seconds(2), ...options })

/** The workflow engine of one process whose messages are in SQL; with an address it owns every shard. */
const layerOnSql = (runnerAddress: Option.Option<RunnerAddress.RunnerAddress>) =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(Sharding.layer),
    Layer.provide(Runners.layerNoop),
    Layer.provideMerge(Layer.orDie(SqlMessageStorage.layer)),
    Layer.provide([RunnerStorage.layerMemory, RunnerHealth.layerNoop]),
    Layer.provide(baseConfig({ runnerAddress }))
  )

/**
 * The durable engine of one process on SQLite, given its SQL client: the
 * messages of every workflow (requests, activity results) go to the
 * database, and a process started again on the same database resumes the
 * workflows the previous one left.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSingleRunner: Layer.Layer<
  WorkflowEngine.WorkflowEngine | Sharding.Sharding | MessageStorage.MessageStorage,
  never,
  SqlClient.SqlClient
> = layerOnSql(
  // A runner needs an address to own shards; this one is never listened on (`Runners.layerNoop`).
  Option.some(RunnerAddress.make("localhost", 34431))
)

/**
 * An engine on the same storage as `layerSingleRunner` that runs no
 * workflows: it submits them (and reads their results) for a runner to do,
 * now or when one starts.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSubmitter: Layer.Layer<
  WorkflowEngine.WorkflowEngine | Sharding.Sharding | MessageStorage.MessageStorage,
  never,
  SqlClient.SqlClient
> = layerOnSql(
  // Without an address, a process owns no shards.
  Option.none()
)

/**
 * The durable engine of one process on a SQLite file (created when missing):
 * nothing to set up. Only one process may use a file at a time.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqlite = (options: { readonly filename: string }): Layer.Layer<
  WorkflowEngine.WorkflowEngine | Sharding.Sharding | MessageStorage.MessageStorage | SqlClient.SqlClient,
  ConfigError
> => layerSingleRunner.pipe(Layer.provideMerge(SqliteClient.layer({ filename: options.filename })))

/**
 * How a runner of the Postgres engine is reached and how quickly the others
 * take over from it.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunnerOptions {
  /** The address the other runners reach this one at. Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** The port this runner listens on; each runner of a host needs its own. */
  readonly port: number
  /** How long a dead runner's shards stay locked before others take them. Default 20 seconds. */
  readonly shardLockExpiration?: Duration.DurationInput | undefined
  /** How often a runner checks that the others are alive. Default 10 seconds. */
  readonly healthCheckInterval?: Duration.DurationInput | undefined
  /** A process that only submits and reads: it runs no workflows and listens on no port. */
  readonly clientOnly?: boolean | undefined
}

/**
 * A runner of the many-process engine, given its SQL client: runners reach
 * each other over sockets (`NodeClusterSocket`); messages and the runners'
 * shard assignments are kept in SQL. When a runner dies, its shards, and so
 * its workflows, go to the others once its locks expire.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRunner = (options: RunnerOptions): Layer.Layer<
  WorkflowEngine.WorkflowEngine | Sharding.Sharding | MessageStorage.MessageStorage,
  SocketServer.SocketServerError,
  SqlClient.SqlClient
> => {
  const config = baseConfig({
    runnerAddress: Option.some(RunnerAddress.make(options.host ?? "127.0.0.1", options.port)),
    shardLockExpiration: Duration.decode(options.shardLockExpiration ?? "20 seconds"),
    shardLockRefreshInterval: Duration.seconds(
      Math.max(1, Duration.toSeconds(Duration.decode(options.shardLockExpiration ?? "20 seconds")) / 4)
    ),
    runnerHealthCheckInterval: Duration.decode(options.healthCheckInterval ?? "10 seconds"),
    refreshAssignmentsInterval: Duration.seconds(2)
  })
  const runner: Layer.Layer<
    Sharding.Sharding | Runners.Runners,
    SocketServer.SocketServerError,
    | Runners.RpcClientProtocol
    | ShardingConfig.ShardingConfig
    | RpcSerialization.RpcSerialization
    | MessageStorage.MessageStorage
    | RunnerStorage.RunnerStorage
  > = options.clientOnly === true
    ? SocketRunner.layerClientOnly
    : SocketRunner.layer.pipe(
      Layer.provide(NodeClusterSocket.layerSocketServer),
      Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc)))
    )
  return ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(runner),
    Layer.provide(NodeClusterSocket.layerClientProtocol),
    Layer.provideMerge(Layer.orDie(SqlMessageStorage.layer)),
    Layer.provide(Layer.orDie(SqlRunnerStorage.layer)),
    Layer.provide(config),
    Layer.provide(RpcSerialization.layerMsgPack)
  )
}

/**
 * A runner of the many-process engine on Postgres (`postgres://user@host:port/db`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPostgres = (options: RunnerOptions & { readonly url: Redacted.Redacted | string }): Layer.Layer<
  WorkflowEngine.WorkflowEngine | Sharding.Sharding | MessageStorage.MessageStorage | SqlClient.SqlClient,
  SocketServer.SocketServerError | SqlError
> =>
  layerRunner(options).pipe(
    Layer.provideMerge(PgClient.layer({
      url: Redacted.isRedacted(options.url) ? options.url : Redacted.make(options.url),
      applicationName: "qoery-batch"
    }))
  )

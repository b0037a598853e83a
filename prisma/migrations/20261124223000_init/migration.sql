-- CreateEnum
CREATE TYPE "job_status" AS ENUM ('CREATED', 'RUNNING', 'FAILING', 'FAILED', 'CANCELLING', 'CANCELED', 'FINISHED', 'RESTARTING');

-- CreateEnum
CREATE TYPE "runtime_mode" AS ENUM ('STREAMING', 'BATCH');

-- CreateEnum
CREATE TYPE "partitioning" AS ENUM ('FORWARD', 'REBALANCE', 'RESCALE', 'HASH', 'BROADCAST', 'GLOBAL', 'SHUFFLE');

-- CreateEnum
CREATE TYPE "execution_state" AS ENUM ('CREATED', 'SCHEDULED', 'DEPLOYING', 'INITIALIZING', 'RUNNING', 'FINISHED', 'CANCELING', 'CANCELED', 'FAILED');

-- CreateEnum
CREATE TYPE "task_manager_status" AS ENUM ('OK', 'LATE', 'LOST', 'DEREGISTERED');

-- CreateEnum
CREATE TYPE "checkpoint_status" AS ENUM ('IN_PROGRESS', 'COMPLETED', 'FAILED');

-- CreateEnum
CREATE TYPE "job_event_kind" AS ENUM ('STATE', 'EXCEPTION', 'CHECKPOINT', 'INFO');

-- CreateTable
CREATE TABLE "artifacts" (
    "id" TEXT NOT NULL,
    "file_name" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "bundle_sha" TEXT NOT NULL,
    "bundle_size" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "artifacts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "jobs" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "status" "job_status" NOT NULL DEFAULT 'CREATED',
    "parallelism" INTEGER NOT NULL,
    "max_parallelism" INTEGER NOT NULL,
    "runtime_mode" "runtime_mode" NOT NULL DEFAULT 'STREAMING',
    "arguments" TEXT[],
    "plan_hash" TEXT NOT NULL,
    "artifact_id" TEXT NOT NULL,
    "restored_from" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "ended_at" TIMESTAMP(3),
    "failure_cause" TEXT,

    CONSTRAINT "jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_vertices" (
    "job_id" TEXT NOT NULL,
    "vertex_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "parallelism" INTEGER NOT NULL,
    "max_parallelism" INTEGER NOT NULL,
    "operators" JSONB NOT NULL,
    "slot_sharing_group" TEXT NOT NULL DEFAULT 'default',

    CONSTRAINT "job_vertices_pkey" PRIMARY KEY ("job_id","vertex_id")
);

-- CreateTable
CREATE TABLE "job_edges" (
    "id" SERIAL NOT NULL,
    "job_id" TEXT NOT NULL,
    "source_vertex_id" TEXT NOT NULL,
    "target_vertex_id" TEXT NOT NULL,
    "partitioning" "partitioning" NOT NULL,
    "input_index" INTEGER NOT NULL DEFAULT 0,
    "output_tag" TEXT,

    CONSTRAINT "job_edges_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "executions" (
    "id" TEXT NOT NULL,
    "job_id" TEXT NOT NULL,
    "vertex_id" TEXT NOT NULL,
    "subtask_index" INTEGER NOT NULL,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "state" "execution_state" NOT NULL DEFAULT 'CREATED',
    "task_manager_id" TEXT,
    "slot_index" INTEGER,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deployed_at" TIMESTAMP(3),
    "started_at" TIMESTAMP(3),
    "ended_at" TIMESTAMP(3),
    "failure_cause" TEXT,

    CONSTRAINT "executions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_managers" (
    "id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "data_port" INTEGER NOT NULL,
    "control_address" TEXT NOT NULL,
    "slots" INTEGER NOT NULL,
    "status" "task_manager_status" NOT NULL DEFAULT 'OK',
    "registered_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_heartbeat_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "health" JSONB,

    CONSTRAINT "task_managers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "checkpoints" (
    "id" SERIAL NOT NULL,
    "job_id" TEXT NOT NULL,
    "checkpoint_id" INTEGER NOT NULL,
    "status" "checkpoint_status" NOT NULL DEFAULT 'IN_PROGRESS',
    "is_savepoint" BOOLEAN NOT NULL DEFAULT false,
    "storage_path" TEXT,
    "state_size" BIGINT,
    "checkpointed_size" BIGINT,
    "acknowledged_subtasks" INTEGER NOT NULL DEFAULT 0,
    "total_subtasks" INTEGER NOT NULL,
    "triggered_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMP(3),
    "failure_cause" TEXT,

    CONSTRAINT "checkpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_events" (
    "id" BIGSERIAL NOT NULL,
    "job_id" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "kind" "job_event_kind" NOT NULL,
    "execution_id" TEXT,
    "from_state" TEXT,
    "to_state" TEXT,
    "message" TEXT NOT NULL,
    "stack_trace" TEXT,

    CONSTRAINT "job_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "artifacts_bundle_sha_idx" ON "artifacts"("bundle_sha");

-- CreateIndex
CREATE INDEX "jobs_status_idx" ON "jobs"("status");

-- CreateIndex
CREATE INDEX "jobs_artifact_id_idx" ON "jobs"("artifact_id");

-- CreateIndex
CREATE INDEX "jobs_created_at_idx" ON "jobs"("created_at");

-- CreateIndex
CREATE INDEX "job_edges_job_id_idx" ON "job_edges"("job_id");

-- CreateIndex
CREATE INDEX "executions_job_id_state_idx" ON "executions"("job_id", "state");

-- CreateIndex
CREATE INDEX "executions_task_manager_id_idx" ON "executions"("task_manager_id");

-- CreateIndex
CREATE UNIQUE INDEX "executions_job_id_vertex_id_subtask_index_attempt_key" ON "executions"("job_id", "vertex_id", "subtask_index", "attempt");

-- CreateIndex
CREATE INDEX "task_managers_status_idx" ON "task_managers"("status");

-- CreateIndex
CREATE INDEX "checkpoints_job_id_status_idx" ON "checkpoints"("job_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "checkpoints_job_id_checkpoint_id_key" ON "checkpoints"("job_id", "checkpoint_id");

-- CreateIndex
CREATE INDEX "job_events_job_id_at_idx" ON "job_events"("job_id", "at");

-- CreateIndex
CREATE INDEX "job_events_execution_id_idx" ON "job_events"("execution_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- AddForeignKey
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_artifact_id_fkey" FOREIGN KEY ("artifact_id") REFERENCES "artifacts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_vertices" ADD CONSTRAINT "job_vertices_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_edges" ADD CONSTRAINT "job_edges_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_edges" ADD CONSTRAINT "job_edges_job_id_source_vertex_id_fkey" FOREIGN KEY ("job_id", "source_vertex_id") REFERENCES "job_vertices"("job_id", "vertex_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_edges" ADD CONSTRAINT "job_edges_job_id_target_vertex_id_fkey" FOREIGN KEY ("job_id", "target_vertex_id") REFERENCES "job_vertices"("job_id", "vertex_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "executions" ADD CONSTRAINT "executions_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "executions" ADD CONSTRAINT "executions_job_id_vertex_id_fkey" FOREIGN KEY ("job_id", "vertex_id") REFERENCES "job_vertices"("job_id", "vertex_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "executions" ADD CONSTRAINT "executions_task_manager_id_fkey" FOREIGN KEY ("task_manager_id") REFERENCES "task_managers"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "checkpoints" ADD CONSTRAINT "checkpoints_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_events" ADD CONSTRAINT "job_events_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_events" ADD CONSTRAINT "job_events_execution_id_fkey" FOREIGN KEY ("execution_id") REFERENCES "executions"("id") ON DELETE SET NULL ON UPDATE CASCADE;

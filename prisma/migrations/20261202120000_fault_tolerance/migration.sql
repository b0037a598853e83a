-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "attempt" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "restarts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "restart_strategy" JSONB;

-- AlterTable
ALTER TABLE "checkpoints" ADD COLUMN     "attempt" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "duration_ms" INTEGER,
ADD COLUMN     "alignment_ms" INTEGER,
ADD COLUMN     "discarded_at" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "checkpoint_acks" (
    "id" BIGSERIAL NOT NULL,
    "job_id" TEXT NOT NULL,
    "checkpoint_id" INTEGER NOT NULL,
    "vertex_id" TEXT NOT NULL,
    "subtask_index" INTEGER NOT NULL,
    "attempt" INTEGER NOT NULL,
    "state_handle" TEXT NOT NULL,
    "state_size" BIGINT NOT NULL,
    "is_final" BOOLEAN NOT NULL DEFAULT false,
    "acked_at" TIMESTAMP(3) NOT NULL,
    "alignment_ms" INTEGER NOT NULL DEFAULT 0,
    "sync_ms" INTEGER NOT NULL DEFAULT 0,
    "async_ms" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "checkpoint_acks_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "checkpoint_acks_job_id_checkpoint_id_vertex_id_subtask_inde_key" ON "checkpoint_acks"("job_id", "checkpoint_id", "vertex_id", "subtask_index");

-- AddForeignKey
ALTER TABLE "checkpoint_acks" ADD CONSTRAINT "checkpoint_acks_job_id_checkpoint_id_fkey" FOREIGN KEY ("job_id", "checkpoint_id") REFERENCES "checkpoints"("job_id", "checkpoint_id") ON DELETE CASCADE ON UPDATE CASCADE;

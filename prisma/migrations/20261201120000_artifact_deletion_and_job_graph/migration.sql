-- AlterTable
ALTER TABLE "artifacts" ADD COLUMN     "deleted_at" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "job_graph" JSONB,
ADD COLUMN     "plan_overrides" JSONB;

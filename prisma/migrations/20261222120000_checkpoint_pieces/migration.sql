-- AlterTable: an incremental checkpoint's subtask state lists the earlier pieces it refers to
ALTER TABLE "checkpoint_acks" ADD COLUMN "pieces" JSONB;

-- CreateEnum
CREATE TYPE "api_token_role" AS ENUM ('VIEWER', 'DEVELOPER', 'ADMIN');

-- AlterTable
ALTER TABLE "api_tokens" ADD COLUMN     "expires_at" TIMESTAMP(3),
ADD COLUMN     "role" "api_token_role" NOT NULL DEFAULT 'VIEWER';

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "collected" JSONB,
ADD COLUMN     "metrics" JSONB;

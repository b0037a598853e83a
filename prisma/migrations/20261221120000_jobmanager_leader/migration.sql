-- CreateTable: the JobManager leadership lease (high availability)
CREATE TABLE "jobmanager_leader" (
    "name" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "renewed_at_ms" BIGINT NOT NULL,
    "expires_at_ms" BIGINT NOT NULL,

    CONSTRAINT "jobmanager_leader_pkey" PRIMARY KEY ("name")
);

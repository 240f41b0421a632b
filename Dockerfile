# The runbook worker, for docker-compose.yml.
FROM node:20-bookworm-slim
# the worker verifies approvers' signatures with OpenSSH's own ssh-keygen -Y (src/activities/approvals/verify.ts)
RUN apt-get update && apt-get install -y --no-install-recommends openssh-client && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
# the worker starts from this prebuilt workflow bundle instead of bundling at every start
RUN npx tsx scripts/bundle-workflows.ts
CMD ["npx", "tsx", "src/worker.ts"]
